package io.lakelora.jobs.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.cli.Cli;
import io.lakelora.jobs.Main;
import io.lakelora.jobs.testing.Confs;
import io.lakelora.model.LlamaLoader;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.util.Assets;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 6: the README's first command ({@code bin/lakelora demo}) end to end, as CI runs it on a clean checkout (the
 * command as bin/lakelora invokes it, in this JVM, with the repository's conf/ files), checking every output.
 */
class DemoCommandTest {
    @AfterAll
    static void stop() {
        SparkSession.getActiveSession().foreach(s -> {
            s.stop();
            return null;
        });
    }

    @Test
    void readmeDemoCommandRunsThePipelineEndToEnd(@TempDir Path dir) throws Exception {
        String readme = Files.readString(Confs.root().resolve("README.md"));
        assertTrue(readme.contains("bin/lakelora demo"), "the README's first command is bin/lakelora demo");

        Path lake = dir.resolve("lake");
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            code = Cli.run(
                    new String[] {
                        "demo",
                        "--lake",
                        lake.toString(),
                        "--steps",
                        "6",
                        "--conf",
                        Confs.root().resolve("conf").toString(),
                        "--json"
                    },
                    Main.jobCommands());
        } finally {
            System.setOut(old);
        }
        assertEquals(0, code, buf.toString(StandardCharsets.UTF_8));
        JsonNode r = new ObjectMapper().readTree(buf.toString(StandardCharsets.UTF_8));

        // 00: the quantized base, with its completion marker
        Path base = Path.of(URI.create(r.at("/00_quantize_base/output").asText()));
        assertTrue(Files.exists(base.resolve("_COMPLETE")));
        assertTrue(r.at("/00_quantize_base/bits_per_param").asDouble() < 4.2);
        // 01: counts reconcile
        JsonNode counts = r.at("/01_prepare_corpus/counts");
        long read = counts.get("rows_read").asLong();
        long sum = 0;
        for (String k : io.lakelora.jobs.prepare.PrepareCorpusJob.OUTCOMES)
            sum += counts.path(k).asLong();
        assertTrue(read > 0 && read == sum, "rows read = kept + quarantined + duplicates: " + counts);
        // 02: token blocks written
        assertTrue(
                r.at("/02_tokenize_pack/counts/blocks").asLong() > 0,
                r.at("/02_tokenize_pack").toString());
        // 03: a registered version with lineage, trained on the quantized base
        assertEquals("stories260k-shakespeare@1", r.at("/03_train/adapter").asText());
        assertTrue(r.at("/03_train/dataset").asText().contains("/tables/token_blocks@v"));
        assertEquals(6, r.at("/03_train/steps").asLong());
        Path report = Path.of(URI.create(r.at("/03_train/report").asText()));
        assertTrue(Files.size(report.resolve("loss_curve.png")) > 1000);
        assertTrue(Files.readString(report.resolve("report.md")).contains("stories260k-shakespeare"));
        // 04: PEFT files that import for the base model
        Path peft = Path.of(URI.create(r.at("/04_export/dir").asText()));
        PeftAdapter.Loaded a = PeftAdapter.load(peft, LlamaLoader.config(Assets.require("models/stories260K-hf")));
        assertEquals(8, a.config().r());
        // 05: evaluated against the base, with a report
        double eval = r.at("/05_evaluate/eval_loss").asDouble();
        double baseLoss = r.at("/05_evaluate/base_eval_loss").asDouble();
        assertTrue(eval < baseLoss, "the adapter should beat the base on its eval split: " + eval + " vs " + baseLoss);
        assertTrue(Files.exists(
                Path.of(URI.create(r.at("/05_evaluate/report").asText())).resolve("report.md")));
    }
}
