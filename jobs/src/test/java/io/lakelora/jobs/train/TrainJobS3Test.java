package io.lakelora.jobs.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.prepare.PrepareConfig;
import io.lakelora.jobs.prepare.PrepareCorpusJob;
import io.lakelora.jobs.registry.AdapterRegistry;
import io.lakelora.jobs.testing.PipelineChecks;
import io.lakelora.jobs.testing.S3Proxy;
import io.lakelora.jobs.testing.TestSpark;
import io.lakelora.jobs.tokenize.TokenizePackJob;
import io.lakelora.model.LlamaLoader;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.util.Assets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 5 end to end with the whole lake on S3 (s3proxy on 127.0.0.1, a separate process): corpus, base model, Delta
 * tables, checkpoints, registry and PEFT files all live in the bucket; executors load the base from s3a://.
 */
class TrainJobS3Test {
    static S3Proxy s3;
    static SparkSession spark;

    @BeforeAll
    static void start() {
        s3 = S3Proxy.start("lake");
        spark = TestSpark.start(s3.sparkSettings());
    }

    @AfterAll
    static void stop() {
        TestSpark.stop(spark);
        if (s3 != null) s3.close();
    }

    @Test
    void theWholePipelineRunsOnS3a(@TempDir Path tmp) throws Exception {
        FileSystem fs = new org.apache.hadoop.fs.Path("s3a://lake/")
                .getFileSystem(spark.sparkContext().hadoopConfiguration());
        Path slice = tmp.resolve("tinyshakespeare-40k.txt");
        Files.writeString(
                slice,
                Files.readString(Assets.require("corpora/tinyshakespeare.txt")).substring(0, 40_000));
        fs.copyFromLocalFile(
                new org.apache.hadoop.fs.Path(slice.toUri()),
                new org.apache.hadoop.fs.Path("s3a://lake/corpora/tinyshakespeare-40k.txt"));
        fs.copyFromLocalFile(
                new org.apache.hadoop.fs.Path(
                        Assets.require("corpora/tinystories_sample.txt").toUri()),
                new org.apache.hadoop.fs.Path("s3a://lake/corpora/tinystories_sample.txt"));
        Path model = Assets.require("models/stories260K-hf");
        try (var files = Files.list(model)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                fs.copyFromLocalFile(
                        new org.apache.hadoop.fs.Path(f.toUri()),
                        new org.apache.hadoop.fs.Path("s3a://lake/models/stories260K-hf/" + f.getFileName()));
            }
        }

        String lake = "s3a://lake/lake";
        PrepareConfig p = PipelineChecks.prepareConfig(lake, "mode=full");
        p.inputs.removeIf(in -> !in.name.equals("tinystories") && !in.name.equals("tinyshakespeare"));
        for (PrepareConfig.Input in : p.inputs) {
            in.path = in.name.equals("tinystories")
                    ? "s3a://lake/corpora/tinystories_sample.txt"
                    : "s3a://lake/corpora/tinyshakespeare-40k.txt";
        }
        PrepareCorpusJob.run(spark, p);
        TokenizePackJob.run(spark, PipelineChecks.tokenizeConfig(lake, "mode=full", "pack.block_size=128"));

        TrainJobConfig cfg = TrainJobEndToEndTest.trainConfig(
                lake,
                "train.steps=4",
                "train.eval_interval=2",
                "train.checkpoint_interval=2",
                "train.global_batch_blocks=4",
                "report.max_new_tokens=4");
        cfg.model.path = "s3a://lake/models/stories260K-hf";
        TrainJob.Outcome out = TrainJob.run(spark, cfg, null);
        assertTrue(out.created());
        assertTrue(out.peftPath().startsWith("s3a://lake/lake/runs/"), out.peftPath());
        assertTrue(out.datasetTable().startsWith("s3a://lake/lake/tables/token_blocks"), out.datasetTable());

        // everything is an object in the bucket (s3proxy's filesystem backend keeps objects as files)
        Path bucket = s3.bucketDir("lake");
        String runDir = "lake/runs/" + cfg.train.adapterName + "/" + out.runId();
        Path peft = bucket.resolve(runDir + "/peft");
        assertTrue(Files.exists(bucket.resolve(runDir + "/checkpoints/LATEST")), s3.logText());
        assertTrue(Files.exists(bucket.resolve(runDir + "/report/loss_curve.png")));
        assertTrue(Files.isDirectory(bucket.resolve("lake/registry/adapters/_delta_log")));
        assertEquals(4, spark.read().format("delta").load(out.metricsTable()).count());

        Row row = new AdapterRegistry(spark, out.registry()).resolve(cfg.train.adapterName + "@latest");
        assertEquals(out.version(), row.getInt(row.fieldIndex("version")));
        assertArrayEquals(
                (byte[]) row.get(row.fieldIndex("adapter_safetensors")),
                Files.readAllBytes(peft.resolve(PeftAdapter.WEIGHTS_FILE)));
        PeftAdapter.Loaded imported = PeftAdapter.load(peft, LlamaLoader.config(model));
        assertEquals(cfg.lora.r(), imported.config().r());
    }
}
