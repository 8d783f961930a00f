package io.lakelora.jobs.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.jobs.cluster.SparkSubmit;
import io.lakelora.jobs.cluster.StandaloneCluster;
import io.lakelora.jobs.cluster.TestCluster;
import io.lakelora.jobs.registry.AdapterRegistry;
import io.lakelora.jobs.testing.S3Proxy;
import io.lakelora.jobs.testing.TestSpark;
import io.lakelora.util.Assets;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Airflow DAG end to end without Airflow: its six spark-submit tasks rendered by airflow/tests/dag_harness.py
 * (real Jinja2, Airflow's context, the Spark provider hook's argument order) are run, in DAG order, exactly as
 * rendered against a Spark standalone cluster (a master and two worker JVMs). A new corpus file in a landing
 * directory, seen by the DAG's sensor, leads through jobs 00 -> 05 to a new adapter version in the registry; the same
 * prepare and train again (a rerun of the DAG run: same Airflow run id) register nothing and add no corpus rows.
 *
 * <p>The test's deployment goes through the DAG's Variables only: the master through the connection, Delta through
 * {@code lakelora_jars} (no network here, so no {@code --packages}), the job jar, this checkout's conf/ as a
 * {@code file:} URI, a temp lake, an env overlay file for a 2-core cluster ({@code lakelora_env}) and small training
 * settings through {@code lakelora_settings_<job>}.
 */
class AirflowRetrainIT {
    static final String ADAPTER = "airflow-it";
    static final ObjectMapper JSON = new ObjectMapper();
    static StandaloneCluster cluster;
    static S3Proxy s3;
    static Path work;
    static boolean passed;

    @BeforeAll
    static void start() throws IOException {
        work = Files.createTempDirectory("lakelora-airflow-it");
        cluster = TestCluster.start(2, 1, "2g");
        s3 = S3Proxy.start("lake");
    }

    @AfterAll
    static void stop() throws IOException {
        if (cluster != null) cluster.close();
        if (s3 != null) s3.close();
        if (passed && !Boolean.getBoolean("lakelora.cluster.keep")) { // a failure keeps the logs it names
            try (var w = Files.walk(work)) {
                for (Path p : w.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
            }
        }
    }

    /** A new corpus file of 60 Alpaca rows (instruction, input, output), from the shared self-instruct seed tasks. */
    static Path landCorpus(Path landing) throws IOException {
        Path file = Files.createDirectories(landing.resolve("2026-12-07")).resolve("part-0001.jsonl");
        StringBuilder out = new StringBuilder();
        List<String> seed = Files.readAllLines(Assets.root().resolve("corpora/self_instruct_seed_tasks.jsonl"));
        for (String line : seed.subList(0, 60)) {
            JsonNode task = JSON.readTree(line);
            ObjectNode row = JSON.createObjectNode();
            row.put("instruction", task.path("instruction").asText());
            row.put("input", task.path("instances").get(0).path("input").asText());
            row.put("output", task.path("instances").get(0).path("output").asText());
            out.append(JSON.writeValueAsString(row)).append('\n');
        }
        Files.writeString(file, out);
        return file;
    }

    static String property(String name) {
        String v = System.getProperty(name);
        assertNotNull(v, "system property " + name + " (set by failsafe in jobs/pom.xml; run through mvn verify)");
        return v;
    }

    /** Runs the rendered commands in order; returns each job's output. */
    static List<String> runAll(List<JsonNode> tasks, String round) {
        List<String> outputs = new ArrayList<>();
        for (JsonNode t : tasks) {
            List<String> cmd = AirflowDagTest.strings(t.path("spark_submit"));
            assertEquals("spark-submit", cmd.get(0));
            String id = t.path("task_id").asText();
            long t0 = System.nanoTime();
            SparkSubmit.Result r = SparkSubmit.run(
                    cluster, cmd.subList(1, cmd.size()), AWS_ENV, work.resolve(round + "-" + id + ".log"), 420);
            System.err.printf(
                    "[airflow-it] %s %s: exit %d in %.1f s%n", round, id, r.exitCode(), (System.nanoTime() - t0) / 1e9);
            assertEquals(0, r.exitCode(), id + ": " + r.describe());
            assertNotNull(r.appId(), id + " ran as an application of the standalone master: " + r.describe());
            outputs.add(r.output());
        }
        return outputs;
    }

    /** The submitting client's credentials for the test's S3 server (executors inherit the workers' environment). */
    static final Map<String, String> AWS_ENV =
            Map.of("AWS_ACCESS_KEY_ID", S3Proxy.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY", S3Proxy.SECRET_KEY);

    @Test
    void aNewCorpusFileTrainsANewAdapterVersionAndARerunRegistersNothing() throws Exception {
        Path landing = work.resolve("landing");
        landCorpus(landing);
        // the lake on an S3 server (s3proxy): the whole pipeline 00 -> 05 with its tables and files on s3a://
        String lake = "s3a://lake/airflow";
        // the env overlay a 2-core cluster's deployment would name (as ClusterPipelineIT's settings): few shuffle and
        // Delta snapshot partitions (Delta's default is 50), and the S3-compatible endpoint (credentials from the
        // environment: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)
        Path overlay = work.resolve("small-cluster.yaml");
        Files.writeString(
                overlay,
                "spark:\n  shuffle_partitions: 2\n  conf:\n"
                        + "    spark.databricks.delta.snapshotPartitions: \"2\"\n"
                        + "s3a:\n  endpoint: " + s3.endpoint() + "\n  region: us-east-1\n  path_style_access: true\n"
                        + "  ssl_enabled: false\n  credentials_provider: "
                        + "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider\n");
        Map<String, String> vars = new java.util.LinkedHashMap<>();
        vars.put("lakelora_env", overlay.toUri().toString());
        vars.put("lakelora_corpus_uri", landing.toString());
        vars.put("lakelora_lake_root", lake);
        vars.put("lakelora_model_id", "stories260K");
        vars.put(
                "lakelora_model_path",
                Assets.root().resolve("models/stories260K-hf").toString());
        vars.put("lakelora_adapter_name", ADAPTER);
        vars.put(
                "lakelora_conf_dir",
                TestCluster.root().resolve("conf").toUri().toString().replaceAll("/$", ""));
        vars.put("lakelora_job_jar", property("lakelora.jobjar"));
        vars.put("lakelora_packages", "");
        vars.put("lakelora_jars", String.join(",", TestCluster.deltaJars()));
        vars.put("lakelora_settings_tokenize_pack", "pack.block_size=128 split.eval_fraction=0.1");
        vars.put(
                "lakelora_settings_train",
                "train.steps=4 train.checkpoint_interval=2 train.eval_interval=2 "
                        + "train.global_batch_blocks=4 train.micro_batch=2 train.workers=2 report.max_new_tokens=8");
        vars.put("lakelora_settings_evaluate", "samples.max_new_tokens=8");
        // the DAG run whose data interval holds the new file: the last day up to the next hour
        OffsetDateTime end =
                OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.HOURS).plusHours(1);
        JsonNode h = AirflowDagTest.harness(
                work, AirflowDagTest.renderSpec(vars, cluster.masterUrl(), end.minusDays(1), end));
        JsonNode dag = AirflowDagTest.rendered(h, AirflowDagTest.SPARK_DAG);
        List<JsonNode> tasks = new ArrayList<>();
        dag.path("tasks").forEach(tasks::add);
        JsonNode sensor = tasks.remove(0);
        assertTrue(sensor.path("poke").asBoolean(), "the sensor sees the new corpus file: " + sensor);
        List<String> order = new ArrayList<>();
        for (JsonNode t : AirflowDagTest.dag(h, AirflowDagTest.SPARK_DAG).path("tasks")) {
            if (!t.path("upstream").isEmpty()) {
                assertEquals(
                        order.isEmpty() ? sensor.path("task_id").asText() : order.get(order.size() - 1),
                        t.path("upstream").get(0).asText(),
                        "the tasks run in DAG order");
            }
            order.add(t.path("task_id").asText());
        }
        assertEquals(
                order.subList(1, order.size()),
                tasks.stream().map(t -> t.path("task_id").asText()).toList());

        long t0 = System.nanoTime();
        List<String> first = runAll(tasks, "run");
        System.err.printf("[airflow-it] six jobs: %.1f s%n", (System.nanoTime() - t0) / 1e9);
        assertTrue(first.get(3).contains("[train] registered " + ADAPTER + "@1"), first.get(3));
        Path exported = s3.bucketDir("lake").resolve("airflow/exports/" + ADAPTER + "/v1");
        assertTrue(Files.isRegularFile(exported.resolve("adapter_model.safetensors")), "job 04 exported v1");

        SparkSession spark = TestSpark.start(s3.sparkSettings());
        try {
            AdapterRegistry registry = new AdapterRegistry(spark, lake + "/registry");
            assertEquals(1, registry.versions(ADAPTER).size(), "one new version in " + registry.adaptersPath());
            String clean = lake + "/tables/corpus_clean";
            long rows = spark.read().format("delta").load(clean).count();
            assertTrue(rows > 0 && rows <= 60, "job 01 read the landed file: " + rows + " rows");

            // a rerun of the DAG run (same Airflow run id): the two jobs that add rows or versions, prepare and
            // train, run again with the same rendered arguments (export and evaluate write per version, covered by
            // their own tests; every job costs a minute of this suite on a 2-core machine)
            t0 = System.nanoTime();
            List<String> again = runAll(List.of(tasks.get(1), tasks.get(3)), "rerun");
            System.err.printf(
                    "[airflow-it] prepare and train again, same run id: %.1f s%n", (System.nanoTime() - t0) / 1e9);
            assertTrue(
                    again.get(1).contains("is already registered as " + ADAPTER + "@1: nothing to do"), again.get(1));
            assertEquals(1, registry.versions(ADAPTER).size(), "the rerun registered nothing");
            assertEquals(rows, spark.read().format("delta").load(clean).count(), "the rerun added no corpus rows");
            try (var s = Files.list(exported.getParent())) {
                assertEquals(
                        List.of("v1"), s.map(p -> p.getFileName().toString()).toList());
            }
            passed = true;
        } finally {
            TestSpark.stop(spark);
        }
    }
}
