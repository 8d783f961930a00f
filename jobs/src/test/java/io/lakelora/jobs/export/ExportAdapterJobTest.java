package io.lakelora.jobs.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.gguf.GgufFile;
import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.registry.AdapterRegistry;
import io.lakelora.jobs.runtime.AdapterExport;
import io.lakelora.jobs.runtime.AdapterPaths;
import io.lakelora.jobs.serve.ServeFixtures;
import io.lakelora.jobs.testing.Confs;
import io.lakelora.jobs.testing.TestSpark;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.AdapterState;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.ModelDir;
import io.lakelora.peft.PeftAdapter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Job 04 on a local lake whose registry holds two versions of a real stories260K PEFT adapter: the exported files
 * are the registered bytes, load with PeftAdapter against the model to the parameters that were saved, and carry the
 * lineage; reruns change nothing; unknown references fail naming them.
 */
class ExportAdapterJobTest {
    static SparkSession spark;

    @TempDir
    static Path tmp;

    static Path lake;
    static Path v1Dir;
    static Path v2Dir;

    @BeforeAll
    static void start() throws Exception {
        spark = TestSpark.start(java.util.Map.of("spark.master", "local[2,4]"));
        lake = tmp.resolve("lake");
        v1Dir = ServeFixtures.writeAdapter(tmp.resolve("peft-v1"), 11);
        v2Dir = ServeFixtures.writeAdapter(tmp.resolve("peft-v2"), 22);
        AdapterRegistry reg = new AdapterRegistry(spark, AdapterPaths.registryRoot(lake.toString()));
        reg.register(ServeFixtures.record(
                "tiny", "run-1", v1Dir, "file:/lake/tables/token_blocks", 3, ServeFixtures.STORIES_SHA256, null));
        reg.register(ServeFixtures.record(
                "tiny", "run-2", v2Dir, "file:/lake/tables/token_blocks", 5, ServeFixtures.STORIES_SHA256, null));
        reg.setAlias("tiny", "production", 1);
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    static ExportConfig config(String... overrides) {
        String[] all = new String[overrides.length + 1];
        all[0] = "lake.root=" + lake;
        System.arraycopy(overrides, 0, all, 1, overrides.length);
        return Confs.load("04_export.yaml", ExportConfig.class, all);
    }

    @Test
    void exportsTheRegisteredBytesWithLineage() throws Exception {
        AdapterExport.Result r = ExportAdapterJob.run(spark, config("adapter=tiny@production"));
        assertEquals(1, r.version());
        assertTrue(r.written());
        Path out = lake.resolve("exports/tiny/v1");
        assertEquals(LakePaths.toUri(out.toString()), r.dir());
        assertArrayEquals(
                Files.readAllBytes(v1Dir.resolve(PeftAdapter.WEIGHTS_FILE)),
                Files.readAllBytes(out.resolve(PeftAdapter.WEIGHTS_FILE)));
        assertArrayEquals(
                Files.readAllBytes(v1Dir.resolve(PeftAdapter.CONFIG_FILE)),
                Files.readAllBytes(out.resolve(PeftAdapter.CONFIG_FILE)));

        // what a PEFT reader gets: the slab that was saved, on the stories260K decoder
        PeftAdapter.Loaded loaded = PeftAdapter.load(out, ServeFixtures.modelConfig());
        assertArrayEquals(ServeFixtures.params(11, 0.1), loaded.params(), 0f);
        assertEquals(4, loaded.config().r());
        assertEquals(8.0, loaded.config().loraAlpha());

        JsonNode lineage = new ObjectMapper()
                .readTree(out.resolve(ExportAdapterJob.LINEAGE_FILE).toFile());
        assertEquals("tiny", lineage.get("adapter_name").asText());
        assertEquals(1, lineage.get("version").asInt());
        assertEquals("run-1", lineage.get("run_id").asText());
        assertEquals(
                ServeFixtures.STORIES_SHA256, lineage.get("base_model_sha256").asText());
        assertEquals(
                "file:/lake/tables/token_blocks", lineage.get("dataset_table").asText());
        assertEquals(3, lineage.get("dataset_version").asLong());
        assertEquals(
                ModelDir.sha256(v1Dir.resolve(PeftAdapter.WEIGHTS_FILE)),
                lineage.get("adapter_model_sha256").asText());

        byte[] before = Files.readAllBytes(out.resolve(ExportAdapterJob.LINEAGE_FILE));
        AdapterExport.Result again = ExportAdapterJob.run(spark, config("adapter=tiny@1"));
        assertFalse(again.written());
        assertArrayEquals(
                before,
                Files.readAllBytes(out.resolve(ExportAdapterJob.LINEAGE_FILE)),
                "a rerun leaves the export as it was (the lineage holds its export time)");
    }

    @Test
    void latestGoesToTheConfiguredDirectory() throws Exception {
        Path out = tmp.resolve("custom-out");
        AdapterExport.Result r = ExportAdapterJob.run(spark, config("adapter=tiny", "out=" + out));
        assertEquals(2, r.version());
        assertArrayEquals(
                Files.readAllBytes(v2Dir.resolve(PeftAdapter.WEIGHTS_FILE)),
                Files.readAllBytes(out.resolve(PeftAdapter.WEIGHTS_FILE)));
        assertArrayEquals(
                ServeFixtures.params(22, 0.1),
                PeftAdapter.load(out, ServeFixtures.modelConfig()).params(),
                0f);
    }

    @Test
    void writesTheAdapterAsALlamaCppGgufOnRequest() throws Exception {
        Path out = tmp.resolve("gguf-out");
        String model = "model_path=" + ServeFixtures.model();
        AdapterExport.Result r =
                ExportAdapterJob.run(spark, config("adapter=tiny@2", "out=" + out, "gguf=true", model));
        assertTrue(r.written());
        Path gguf = out.resolve(ExportAdapterJob.GGUF_FILE);
        PeftAdapter.Loaded peft = PeftAdapter.load(out, ServeFixtures.modelConfig());
        try (GgufFile g = GgufFile.open(gguf)) {
            assertEquals("adapter", g.metadata().get("general.type"));
            assertEquals("lora", g.metadata().get("adapter.type"));
            assertEquals("tiny@2", g.metadata().get("general.name"));
            assertEquals(8f, (Float) g.metadata().get("adapter.lora.alpha"), 0f);
            assertEquals(peft.layout().tensors().size(), g.tensors().size());
            // v_proj is not permuted (q/k are): its lora_a / lora_b are PEFT's A / B, in ggml's [in, r] / [r, out]
            AdapterLayout.Tensor a = peft.layout().find(1, TargetModule.V, true);
            AdapterLayout.Tensor b = peft.layout().find(1, TargetModule.V, false);
            assertArrayEquals(AdapterState.copyOf(peft.params(), a), g.readFloats("blk.1.attn_v.weight.lora_a"));
            assertArrayEquals(AdapterState.copyOf(peft.params(), b), g.readFloats("blk.1.attn_v.weight.lora_b"));
            assertArrayEquals(
                    new long[] {a.cols(), a.rows()},
                    g.tensors().get("blk.1.attn_v.weight.lora_a").ne());
        }
        long modified = Files.getLastModifiedTime(gguf).toMillis();
        Thread.sleep(20);
        assertFalse(ExportAdapterJob.run(spark, config("adapter=tiny@2", "out=" + out, "gguf=true", model))
                .written());
        assertEquals(modified, Files.getLastModifiedTime(gguf).toMillis(), "a rerun leaves the GGUF as it was");
        Files.delete(gguf);
        ExportAdapterJob.run(spark, config("adapter=tiny@2", "out=" + out, "gguf=true", model));
        assertTrue(Files.isRegularFile(gguf), "a rerun writes a missing GGUF");

        // no model_path and no job 00 copy of the recorded base: the error names the key and the fix
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> ExportAdapterJob.run(spark, config("adapter=tiny@1", "out=" + tmp.resolve("g2"), "gguf=true")));
        assertTrue(e.getMessage().contains("model_path") && e.getMessage().contains("Fix"), e.getMessage());
    }

    @Test
    void unknownReferencesAreNamed() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> ExportAdapterJob.run(spark, config("adapter=nope@1")));
        assertTrue(e.getMessage().contains("nope@1"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class, () -> ExportAdapterJob.run(spark, config("adapter=tiny@staging")));
        assertTrue(e.getMessage().contains("no alias 'staging'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ExportAdapterJob.run(spark, config("adapter=tiny@9")));
        assertTrue(e.getMessage().contains("tiny@9") && e.getMessage().contains("version 9"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> ExportAdapterJob.run(spark, config("adapter=tiny@1", "lake.root=" + tmp.resolve("empty-lake"))));
        assertTrue(
                e.getMessage().contains("no adapter registry at")
                        && e.getMessage().contains("empty-lake"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ExportAdapterJob.run(spark, config("adapter=")));
        assertTrue(e.getMessage().contains("'adapter'"), e.getMessage());
    }
}
