package io.lakelora.jobs.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.registry.AdapterRegistry;
import io.lakelora.jobs.testing.Confs;
import io.lakelora.jobs.testing.TestSpark;
import io.lakelora.util.Assets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 5's fault tests on the real job: an injected task failure (retried by Spark) and a driver killed with SIGKILL
 * mid-run then rerun both end with the adapter of an uninterrupted run, bit for bit.
 */
class TrainFaultToleranceTest {
    @TempDir
    static Path dir;

    static SparkSession spark;
    static String lake;
    static final String[] RUN = {
        "train.steps=8",
        "train.eval_interval=0",
        "train.checkpoint_interval=2",
        "train.global_batch_blocks=4",
        "report.prompts=[]"
    };

    @BeforeAll
    static void start() throws Exception {
        // local[2,4]: two threads, up to four attempts per task, so an injected task failure is retried
        spark = TestSpark.start(Map.of("spark.master", "local[2,4]"));
        lake = dir.resolve("lake").toString();
        TrainJobEndToEndTest.prepareData(spark, lake);
    }

    @AfterAll
    static void stop() {
        TestSpark.stop(spark);
    }

    static String[] with(String... more) {
        List<String> all = new ArrayList<>(List.of(RUN));
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    static byte[] weights(String adapter) {
        Row r = new AdapterRegistry(spark, new io.lakelora.jobs.common.LakePaths(lake).root() + "/registry")
                .resolve(adapter);
        return (byte[]) r.get(r.fieldIndex("adapter_safetensors"));
    }

    @Test
    void taskFailureAndDriverKillEndWithTheUninterruptedAdapter() throws Exception {
        TrainJob.run(spark, TrainJobEndToEndTest.trainConfig(lake, with("train.adapter_name=clean")), null);
        byte[] clean = weights("clean");

        TrainJob.run(
                spark,
                TrainJobEndToEndTest.trainConfig(
                        lake, with("train.adapter_name=task-failure", "faults.fail_task_at_step=3")),
                null);
        assertArrayEquals(clean, weights("task-failure"), "a retried task changed the adapter");

        // a driver in its own JVM, killed with SIGKILL once a checkpoint exists, then the same job rerun
        String runId = "killed-run";
        String ckpts = new io.lakelora.jobs.common.LakePaths(lake).root() + "/runs/killed/" + runId + "/checkpoints";
        Path latest = Path.of(java.net.URI.create(ckpts + "/LATEST"));
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "@" + Confs.root().resolve("bin/jvm.args"),
                "-Xmx2g",
                "-Dlakelora.assets=" + Assets.root(),
                "-cp",
                System.getProperty("java.class.path"),
                "io.lakelora.jobs.Main",
                "train",
                "--config",
                Confs.conf("03_train.yaml").toString(),
                "--run-id",
                runId,
                "lake.root=" + lake,
                "model.path=" + Assets.require("models/stories260K-hf"),
                "train.adapter_name=killed",
                "spark.master=local[2]"));
        cmd.addAll(List.of(RUN));
        Process driver = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("driver.log").toFile())
                .start();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (!Files.exists(latest) && driver.isAlive() && System.nanoTime() < deadline) Thread.sleep(100);
        assertTrue(
                driver.isAlive(),
                "the driver ended before it could be killed:\n" + Files.readString(dir.resolve("driver.log")));
        assertTrue(
                Files.exists(latest),
                "no checkpoint within 5 minutes:\n" + Files.readString(dir.resolve("driver.log")));
        driver.destroyForcibly(); // SIGKILL
        driver.waitFor();
        assertEquals(137, driver.exitValue(), "expected death by SIGKILL");
        String killedAt = Files.readString(latest).strip();
        assertTrue(!killedAt.equals("step-00000008.ckpt"), "killed too late: " + killedAt);

        TrainJobConfig rerun = TrainJobEndToEndTest.trainConfig(lake, with("train.adapter_name=killed"));
        rerun.spark.master = "local[2]";
        TrainJob.Outcome out = TrainJob.run(spark, rerun, runId);
        assertTrue(out.resumedFromStep() >= 2, "the rerun did not resume: " + out.asMap());
        System.out.println("killed at " + killedAt + ", resumed from step " + out.resumedFromStep());
        assertArrayEquals(clean, weights("killed"), "kill + rerun changed the adapter");
    }
}
