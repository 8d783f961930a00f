package io.lakelora.jobs.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.jobs.runtime.QuantizedModelMarker;
import io.lakelora.jobs.serve.ServeFixtures;
import io.lakelora.jobs.testing.Confs;
import io.lakelora.jobs.testing.TestSpark;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.LlamaSession;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.ModelDir;
import io.lakelora.quant.QuantType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Job 00 on the stories260K asset: the lake copy, its marker, reruns, conflicting outputs and bad input. */
class QuantizeBaseJobTest {
    static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = TestSpark.start(java.util.Map.of("spark.master", "local[2,4]"));
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    static QuantizeConfig config(Path lake, String... overrides) {
        String[] all = new String[overrides.length + 1];
        all[0] = "lake.root=" + lake;
        System.arraycopy(overrides, 0, all, 1, overrides.length);
        QuantizeConfig cfg = Confs.load("00_quantize_base.yaml", QuantizeConfig.class, all);
        cfg.model.path = Confs.asset(cfg.model.path);
        cfg.output.localDir = lake.resolve("scratch").toString();
        return cfg;
    }

    @Test
    void quantizesOnceIntoTheLakeAndRerunsDoNothing(@TempDir Path lake) throws Exception {
        QuantizeBaseJob.Result r = QuantizeBaseJob.run(spark, config(lake), "pipeline-run-7");
        String out = LakePaths.toUri(lake.toString()) + "/models/stories260K-nf4";
        assertTrue(r.created());
        assertEquals(out, r.output());
        Path dir = lake.resolve("models/stories260K-nf4");
        QuantizedModelMarker m =
                QuantizedModelMarker.read(new LakeFs(new Configuration()), out).orElseThrow();
        assertEquals(ServeFixtures.STORIES_SHA256, m.sourceSha256());
        assertEquals("nf4", m.quantType());
        assertEquals(64, m.blocksize());
        assertTrue(m.doubleQuant());
        // sha256 of the uploaded weights, hashed here from the file in the lake
        assertEquals(ModelDir.sha256(dir.resolve("model.safetensors")), m.sha256());
        // 4 + 8/64 + 32/(64*256) = 4.127 bits per parameter for NF4 with double quantization (DESIGN.md); tensors
        // whose size is not a multiple of 64*256 add a partial block
        assertTrue(m.bitsPerParam() >= 4.126 && m.bitsPerParam() < 4.2, "bits/param " + m.bitsPerParam());
        assertTrue(
                m.files()
                        .containsAll(java.util.List.of(
                                "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")),
                "files " + m.files());
        assertEquals(QuantType.NF4, LlamaLoader.storedQuantization(dir));
        // recorded for the next jobs: model.id -> the lake copy (pointer file, and the base_models Delta table)
        io.lakelora.jobs.common.LakePaths lp = new io.lakelora.jobs.common.LakePaths(lake.toString());
        io.lakelora.jobs.common.BaseModels.Entry e =
                io.lakelora.jobs.common.BaseModels.resolve(spark, lp, "stories260K", "model.id");
        assertEquals(out, e.lakePath());
        assertEquals("nf4", e.quant());
        assertEquals(m.sourceSha256(), e.sourceSha256());
        assertEquals(
                1,
                spark.read()
                        .format("delta")
                        .load(lp.table(io.lakelora.jobs.common.BaseModels.TABLE))
                        .where("model_id = 'stories260K'")
                        .count());
        IllegalArgumentException typo = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class,
                () -> io.lakelora.jobs.common.BaseModels.resolve(spark, lp, "stories260k", "model.id"));
        assertTrue(
                typo.getMessage().contains("[stories260K]") && typo.getMessage().contains("Fix:"), typo.getMessage());
        try (var files = Files.list(lake.resolve("models"))) { // beside the output: the model ids' pointers (_ids)
            assertEquals(
                    List.of("_ids", "stories260K-nf4"),
                    files.map(f -> f.getFileName().toString()).sorted().toList(),
                    "no staging directory is left beside the output");
        }

        // the stored model computes exactly what quantizing the source on load computes
        LlamaWeights stored = LlamaLoader.load(dir, null);
        LlamaWeights onLoad = ServeFixtures.nf4Base();
        int[] ids = {1, 403, 407, 261, 378, 13, 70, 389, 2};
        double[] a = new LlamaSession(stored, KernelProvider.get(), null, 16, 16).score(ids);
        double[] b = new LlamaSession(onLoad, KernelProvider.get(), null, 16, 16).score(ids);
        assertArrayEquals(b, a, 0.0);

        Row runRow = spark.read()
                .format("delta")
                .load(new LakePaths(lake.toString()).table(LakePaths.JOB_RUNS))
                .where("job = '00_quantize_base' AND run_id = 'pipeline-run-7'")
                .first();
        assertEquals("succeeded", runRow.getAs("status"));

        byte[] marker = Files.readAllBytes(dir.resolve(QuantizedModelMarker.FILE));
        QuantizeBaseJob.Result again = QuantizeBaseJob.run(spark, config(lake));
        assertFalse(again.created());
        assertEquals(m, again.marker());
        assertArrayEquals(
                marker,
                Files.readAllBytes(dir.resolve(QuantizedModelMarker.FILE)),
                "the rerun did not rewrite the output (the marker holds its creation time)");

        // the same weights from another place (other path, new modification times): recognised by their sha256
        Path copy = Files.createDirectories(lake.resolve("copy/stories260K-hf"));
        try (var files = Files.list(ServeFixtures.model())) {
            for (Path f : (Iterable<Path>) files::iterator) Files.copy(f, copy.resolve(f.getFileName()));
        }
        QuantizeBaseJob.Result moved =
                QuantizeBaseJob.quantize(new Configuration(), config(lake, "model.path=" + copy), "t");
        assertFalse(moved.created());
        assertArrayEquals(marker, Files.readAllBytes(dir.resolve(QuantizedModelMarker.FILE)));
    }

    @Test
    void otherSettingsIntoTheSameOutputAreRefusedUnlessOverwriting(@TempDir Path lake) {
        Configuration conf = new Configuration();
        String out = lake.resolve("models/base").toString();
        QuantizeBaseJob.quantize(conf, config(lake, "output.path=" + out), "t1");
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> QuantizeBaseJob.quantize(conf, config(lake, "output.path=" + out, "quant.blocksize=128"), "t2"));
        assertTrue(
                e.getMessage().contains(LakePaths.toUri(out))
                        && e.getMessage().contains("output.overwrite=true")
                        && e.getMessage().contains("nf4 blocksize 64 double-quant"),
                e.getMessage());

        QuantizeBaseJob.Result r = QuantizeBaseJob.quantize(
                conf, config(lake, "output.path=" + out, "quant.blocksize=128", "output.overwrite=true"), "t3");
        assertTrue(r.created());
        assertEquals(
                128,
                QuantizedModelMarker.read(new LakeFs(conf), LakePaths.toUri(out))
                        .orElseThrow()
                        .blocksize());
    }

    @Test
    void badInputIsNamed(@TempDir Path lake) {
        Configuration conf = new Configuration();
        Path missing = lake.resolve("no-such-model");
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> QuantizeBaseJob.quantize(conf, config(lake, "model.path=" + missing), "t"));
        assertTrue(
                e.getMessage().contains(missing.toString()) && e.getMessage().contains("model.path"), e.getMessage());

        e = assertThrows(
                IllegalArgumentException.class,
                () -> QuantizeBaseJob.quantize(conf, config(lake, "quant.type=nf5"), "t"));
        assertTrue(e.getMessage().contains("quant.type") && e.getMessage().contains("nf5"), e.getMessage());

        e = assertThrows(
                IllegalArgumentException.class,
                () -> QuantizeBaseJob.quantize(conf, config(lake, "quant.blocksize=100"), "t"));
        assertTrue(e.getMessage().contains("blocksize"), e.getMessage());
    }
}
