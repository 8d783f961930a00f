package io.lakelora.jobs.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * airflow/dags/lakelora_retrain.py under Python 3 (Airflow itself is not installed): it compiles, and loaded by
 * airflow/tests/dag_harness.py (stand-ins that accept only the documented operator arguments) it defines both DAGs
 * with the pipeline in order, the idempotent run id, bin/jvm.args and the pinned Delta version, and its sensor finds
 * exactly the new matching files.
 */
class AirflowDagTest {
    private static final String DAG = "airflow/dags/lakelora_retrain.py";
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode harness(Path work) throws Exception {
        ProjectFiles.Result r = ProjectFiles.run(List.of("python3", "-B", "airflow/tests/dag_harness.py", DAG,
                work.toString()));
        assertEquals(0, r.code(), "dag_harness.py failed (is python3 on PATH?):\n" + r.out());
        return JSON.readTree(r.out());
    }

    private static JsonNode dag(JsonNode h, String id) {
        for (JsonNode d : h.path("dags")) if (d.path("dag_id").asText().equals(id)) return d;
        throw new AssertionError("no DAG " + id + " in " + h.path("dags"));
    }

    @Test
    void compilesUnderPython3(@TempDir Path cache) throws Exception {
        // the bytecode goes to a temporary directory, not into airflow/dags/__pycache__
        ProjectFiles.Result r = ProjectFiles.run(List.of("python3", "-m", "py_compile", DAG),
                Map.of("PYTHONPYCACHEPREFIX", cache.toString()));
        assertEquals(0, r.code(), "python3 -m py_compile " + DAG + ":\n" + r.out());
    }

    @Test
    void sparkSubmitVariantRunsThePipelineInOrder(@TempDir Path work) throws Exception {
        JsonNode h = harness(work);
        JsonNode d = dag(h, "lakelora_retrain_spark_submit");
        assertFalse(d.path("catchup").asBoolean());
        assertEquals(1, d.path("max_active_runs").asInt(), "one retraining at a time");
        List<JsonNode> tasks = new ArrayList<>();
        d.path("tasks").forEach(tasks::add);
        assertEquals(1 + DatabricksBundleTest.SUBCOMMANDS.size(), tasks.size());
        assertEquals("PythonSensor", tasks.get(0).path("kind").asText());
        String flags = String.join(" ", ProjectFiles.jvmArgs());
        String runId = h.path("RUN_ID").asText();
        for (int i = 1; i < tasks.size(); i++) {
            JsonNode t = tasks.get(i);
            JsonNode kw = t.path("kwargs");
            assertEquals("SparkSubmitOperator", t.path("kind").asText());
            assertEquals(tasks.get(i - 1).path("task_id").asText(), t.path("upstream").get(0).asText(),
                    "chained after its predecessor");
            assertEquals("io.lakelora.jobs.Main", kw.path("java_class").asText());
            List<String> args = new ArrayList<>();
            kw.path("application_args").forEach(a -> args.add(a.asText()));
            assertEquals(DatabricksBundleTest.SUBCOMMANDS.get(i - 1), args.get(0));
            assertTrue(args.get(2).matches("conf/0" + (i - 1) + "_[a-z_]+\\.yaml"), args.toString());
            int r = args.indexOf("--run-id");
            assertTrue(r > 0 && args.get(r + 1).equals(runId), "--run-id " + runId + " in " + args);
            assertEquals(flags, kw.path("conf").path("spark.driver.extraJavaOptions").asText());
            assertEquals(flags, kw.path("conf").path("spark.executor.extraJavaOptions").asText());
            assertEquals("io.delta:delta-spark_" + ProjectFiles.pom("scala.binary.version") + ":"
                    + ProjectFiles.pom("delta.version"), kw.path("packages").asText());
        }
        List<String> fileFlags = new ArrayList<>();
        h.path("JVM_FLAGS").forEach(f -> fileFlags.add(f.asText()));
        assertEquals(ProjectFiles.jvmArgs(), fileFlags, "JVM_FLAGS = bin/jvm.args");
    }

    @Test
    void databricksVariantTriggersTheBundleJobWithTheRunId(@TempDir Path work) throws Exception {
        JsonNode h = harness(work);
        JsonNode d = dag(h, "lakelora_retrain_databricks");
        JsonNode trigger = d.path("tasks").get(1);
        assertEquals("DatabricksRunNowOperator", trigger.path("kind").asText());
        assertEquals("wait_for_new_corpus", trigger.path("upstream").get(0).asText());
        JsonNode kw = trigger.path("kwargs");
        assertTrue(kw.path("job_name").asText().contains("lakelora-pipeline"), "the job name of databricks.yml");
        // the job parameter names of databricks.yml
        assertEquals(h.path("RUN_ID").asText(), kw.path("job_parameters").path("run_id").asText());
        assertTrue(kw.path("job_parameters").has("lake_root"));
        assertTrue(kw.path("idempotency_token").asText().startsWith(h.path("RUN_ID").asText()));
    }

    @Test
    void runIdIsDerivedFromAirflowsRunIdAndSafeForPaths(@TempDir Path work) throws Exception {
        JsonNode h = harness(work);
        assertEquals("airflow-{{ run_id | lakelora_safe }}", h.path("RUN_ID").asText());
        assertTrue(dag(h, "lakelora_retrain_spark_submit").path("filters").toString().contains("lakelora_safe"));
        assertEquals("scheduled__2025-06-01T00_00_00_00_00",
                h.path("safe_run_ids").path("scheduled__2025-06-01T00:00:00+00:00").asText());
        assertEquals("manual__2025-06-01T12_34_56.789012_00_00",
                h.path("safe_run_ids").path("manual__2025-06-01T12:34:56.789012+00:00").asText());
    }

    @Test
    void sensorSeesOnlyNewMatchingFiles(@TempDir Path work) throws Exception {
        JsonNode s = harness(work).path("sensor");
        assertFalse(s.path("only_old_file").asBoolean(), s.toString());
        assertFalse(s.path("new_file_not_matching_glob").asBoolean(), s.toString());
        assertTrue(s.path("new_matching_file_in_subdir").asBoolean(), s.toString());
        assertFalse(s.path("interval_before_every_file").asBoolean(), s.toString());
    }
}
