package io.lakelora.jobs.serve;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.error.BadInputException;
import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.jobs.runtime.AdapterExport;
import io.lakelora.jobs.runtime.AdapterVersion;
import io.lakelora.peft.PeftAdapter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An adapter whose config still says PiSSA (trained against a rewritten base, not converted to a plain LoRA) is refused
 * by the SQL serving path (and so by job 05, which loads through the same {@code PeftAdapter.load}) and by job 04's
 * export, with the message that says how to convert it.
 */
class UnconvertedAdapterTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @AfterEach
    void tearDown() {
        LoraServing.clear();
    }

    /** The serving fixture adapter with {@code init_lora_weights: "pissa"} in its config, as PEFT writes one. */
    private Path pissaAdapter() throws Exception {
        Path dir = ServeFixtures.writeAdapter(tmp.resolve("pissa"), 7);
        Path cfg = dir.resolve(PeftAdapter.CONFIG_FILE);
        ObjectNode json = (ObjectNode) JSON.readTree(cfg.toFile());
        json.put("init_lora_weights", "pissa");
        Files.writeString(cfg, JSON.writeValueAsString(json));
        return dir;
    }

    private static void assertSaysHowToConvert(BadInputException e) {
        String m = e.getMessage();
        assertTrue(m.contains("init_lora_weights is 'pissa'"), m);
        assertTrue(m.contains("rerun the same train-local command"), m);
        assertTrue(m.contains("path_initial_model_for_weight_conversion"), m);
    }

    @Test
    void sqlServingRefusesIt() throws Exception {
        Path adapter = pissaAdapter();
        ServeTarget t = new ServeTarget(
                ServeFixtures.model().toUri().toString(),
                "none",
                adapter.toUri().toString(),
                1);
        BadInputException e = assertThrows(BadInputException.class, () -> LoraServing.score(t, "Once upon a time"));
        assertSaysHowToConvert(e);
    }

    @Test
    void job04ExportRefusesIt() throws Exception {
        Path adapter = pissaAdapter();
        AdapterVersion v = new AdapterVersion(
                "support-bot",
                1,
                "run-1",
                "stories260K",
                ServeFixtures.STORIES_SHA256,
                "tbl",
                0L,
                "{}",
                Double.NaN,
                Double.NaN,
                0,
                0,
                0,
                Files.readAllBytes(adapter.resolve(PeftAdapter.WEIGHTS_FILE)),
                Files.readString(adapter.resolve(PeftAdapter.CONFIG_FILE)),
                null);
        Path out = tmp.resolve("export");
        BadInputException e = assertThrows(
                BadInputException.class,
                () -> AdapterExport.export(new LakeFs(new Configuration()), v, out.toString(), "registry"));
        assertSaysHowToConvert(e);
        assertTrue(e.getMessage().contains("support-bot@1"), e.getMessage());
        assertFalse(Files.exists(out.resolve(PeftAdapter.WEIGHTS_FILE)), "nothing written");
    }
}
