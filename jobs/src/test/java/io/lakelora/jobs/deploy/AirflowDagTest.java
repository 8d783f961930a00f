package io.lakelora.jobs.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.cli.Cli;
import io.lakelora.util.Assets;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * airflow/dags/lakelora_retrain.py under Python 3 (Airflow itself is not installed): it compiles, and loaded by
 * airflow/tests/dag_harness.py (stand-ins that accept only the documented operator arguments) it defines both DAGs
 * with the pipeline in order, the idempotent run id, bin/jvm.args and the pinned Delta version, and its sensor finds
 * exactly the new files job 01 reads. Rendered with real Jinja2 and Airflow's context names, every templated field
 * resolves, the spark-submit command has the provider hook's argument order, and each job's application arguments,
 * run in-process through {@code io.lakelora.jobs.Main ... --print-config}, give the config the DAG meant: the corpus
 * the sensor watches, the model id, the lake root, no env overlay, the adapter name.
 */
class AirflowDagTest {
    static final String DAG = "airflow/dags/lakelora_retrain.py";
    static final String SPARK_DAG = "lakelora_retrain_spark_submit";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Python's datetime.isoformat() for whole seconds: 2026-12-06T00:00:00+00:00. */
    static final DateTimeFormatter ISO = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ssxxx");

    /**
     * A python3 that imports jinja2: the one on PATH, else Debian's /usr/bin/python3 (.ci/run installs
     * python3-jinja2 when neither has it).
     */
    static String python() throws Exception {
        for (String py : List.of("python3", "/usr/bin/python3")) {
            try {
                if (ProjectFiles.run(List.of(py, "-c", "import jinja2")).code() == 0) return py;
            } catch (java.io.IOException e) {
                // not installed: try the next one
            }
        }
        throw new AssertionError("no python3 with jinja2. Fix: apt-get install python3-jinja2 (.ci/run does)");
    }

    /** The harness's JSON; with {@code spec} (a render spec, see dag_harness.py) also the rendered tasks. */
    static JsonNode harness(Path work, JsonNode spec) throws Exception {
        List<String> cmd =
                new ArrayList<>(List.of(python(), "-B", "airflow/tests/dag_harness.py", DAG, work.toString()));
        if (spec != null) {
            Path file = Files.createTempFile(work, "render-spec", ".json");
            Files.writeString(file, JSON.writeValueAsString(spec));
            cmd.add(file.toString());
        }
        ProjectFiles.Result r = ProjectFiles.run(cmd);
        assertEquals(0, r.code(), "dag_harness.py failed:\n" + r.out());
        return JSON.readTree(r.out());
    }

    /**
     * A render spec: Airflow Variables, the Spark connection (master, client deploy mode), a scheduled run id and
     * its data interval [start, end).
     */
    static ObjectNode renderSpec(
            Map<String, String> variables, String master, OffsetDateTime start, OffsetDateTime end) {
        ObjectNode spec = JSON.createObjectNode();
        spec.set("variables", JSON.valueToTree(variables));
        spec.putObject("connections")
                .putObject("spark_default")
                .put("master", master)
                .put("deploy_mode", "client");
        spec.put("run_id", "scheduled__" + ISO.format(start)); // Airflow's form: scheduled__<logical date>
        spec.put("data_interval_start", ISO.format(start));
        spec.put("data_interval_end", ISO.format(end));
        return spec;
    }

    static JsonNode dag(JsonNode h, String id) {
        for (JsonNode d : h.path("dags")) if (d.path("dag_id").asText().equals(id)) return d;
        throw new AssertionError("no DAG " + id + " in " + h.path("dags"));
    }

    static JsonNode rendered(JsonNode h, String id) {
        for (JsonNode d : h.path("rendered")) if (d.path("dag_id").asText().equals(id)) return d;
        throw new AssertionError("no rendered DAG " + id);
    }

    /** The application arguments of a rendered spark-submit command: everything after the application jar. */
    static List<String> applicationArgs(JsonNode task) {
        List<String> cmd = strings(task.path("spark_submit"));
        int app = cmd.lastIndexOf(task.path("fields").path("application").asText());
        assertTrue(app > 0, "the application in " + cmd);
        return cmd.subList(app + 1, cmd.size());
    }

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(a -> out.add(a.asText()));
        return out;
    }

    @Test
    void compilesUnderPython3(@TempDir Path cache) throws Exception {
        // the bytecode goes to a temporary directory, not into airflow/dags/__pycache__
        ProjectFiles.Result r = ProjectFiles.run(
                List.of("python3", "-m", "py_compile", DAG), Map.of("PYTHONPYCACHEPREFIX", cache.toString()));
        assertEquals(0, r.code(), "python3 -m py_compile " + DAG + ":\n" + r.out());
    }

    @Test
    void sparkSubmitVariantRunsThePipelineInOrder(@TempDir Path work) throws Exception {
        JsonNode h = harness(work, null);
        JsonNode d = dag(h, SPARK_DAG);
        assertFalse(d.path("catchup").asBoolean());
        assertEquals(1, d.path("max_active_runs").asInt(), "one retraining at a time");
        List<JsonNode> tasks = new ArrayList<>();
        d.path("tasks").forEach(tasks::add);
        List<Path> confs = ProjectFiles.jobConfs();
        assertEquals(1 + confs.size(), tasks.size(), "the sensor, then one task per job config " + confs);
        Set<String> registered = ProjectFiles.jobCommandNames();
        assertEquals("PythonSensor", tasks.get(0).path("kind").asText());
        String flags = String.join(" ", ProjectFiles.jvmArgs());
        String runId = h.path("RUN_ID").asText();
        for (int i = 1; i < tasks.size(); i++) {
            JsonNode t = tasks.get(i);
            JsonNode kw = t.path("kwargs");
            assertEquals("SparkSubmitOperator", t.path("kind").asText());
            assertEquals(
                    tasks.get(i - 1).path("task_id").asText(),
                    t.path("upstream").get(0).asText(),
                    "chained after its predecessor");
            assertEquals("io.lakelora.jobs.Main", kw.path("java_class").asText());
            List<String> args = strings(kw.path("application_args"));
            assertTrue(
                    registered.contains(args.get(0)),
                    t.path("task_id").asText() + ": subcommand " + args.get(0)
                            + " is not registered in io.lakelora.jobs.Main.jobCommands() " + registered);
            assertEquals("--config", args.get(1), args.toString());
            String conf = confs.get(i - 1).getFileName().toString();
            assertEquals(
                    "{{ var.value.get('lakelora_conf_dir', '"
                            + h.path("DEFAULTS").path("lakelora_conf_dir").asText() + "') }}/" + conf,
                    args.get(2),
                    "task " + i + " runs the pipeline's job " + (i - 1) + " from the conf directory Variable: " + args);
            assertEquals(
                    ProjectFiles.launchCommand(confs.get(i - 1)),
                    args.get(0),
                    t.path("task_id").asText() + ": the command " + conf + " says launches it");
            int r = args.indexOf("--run-id");
            assertTrue(r > 0 && args.get(r + 1).equals(runId), "--run-id " + runId + " in " + args);
            assertEquals(
                    flags, kw.path("conf").path("spark.driver.extraJavaOptions").asText());
            assertEquals(
                    flags,
                    kw.path("conf").path("spark.executor.extraJavaOptions").asText());
            assertTrue(t.path("template_fields").toString().contains("job_settings"), t.toString());
            assertTrue(args.stream().noneMatch(a -> a.contains("shared/assets")), "no demo asset paths: " + args);
        }
        assertEquals(
                "io.delta:delta-spark_" + ProjectFiles.pom("scala.binary.version") + ":"
                        + ProjectFiles.pom("delta.version"),
                h.path("DEFAULTS").path("lakelora_packages").asText());
        assertEquals("none", h.path("DEFAULTS").path("lakelora_env").asText(), "spark-submit's master wins");
        assertEquals(ProjectFiles.jvmArgs(), strings(h.path("JVM_FLAGS")), "JVM_FLAGS = bin/jvm.args");
    }

    @Test
    void databricksVariantTriggersTheBundleJobWithTheRunId(@TempDir Path work) throws Exception {
        JsonNode h = harness(work, null);
        JsonNode d = dag(h, "lakelora_retrain_databricks");
        JsonNode trigger = d.path("tasks").get(1);
        assertEquals("DatabricksRunNowOperator", trigger.path("kind").asText());
        assertEquals("wait_for_new_corpus", trigger.path("upstream").get(0).asText());
        JsonNode kw = trigger.path("kwargs");
        assertTrue(kw.path("job_name").asText().contains("lakelora-pipeline"), "the job name of databricks.yml");
        // the job parameter names of databricks.yml
        assertEquals(
                h.path("RUN_ID").asText(),
                kw.path("job_parameters").path("run_id").asText());
        assertTrue(kw.path("job_parameters").has("lake_root"));
        assertTrue(kw.path("idempotency_token")
                .asText()
                .startsWith(h.path("RUN_ID").asText()));
    }

    @Test
    void runIdIsDerivedFromAirflowsRunIdAndSafeForPaths(@TempDir Path work) throws Exception {
        JsonNode h = harness(work, null);
        assertEquals("airflow-{{ run_id | lakelora_safe }}", h.path("RUN_ID").asText());
        assertTrue(dag(h, SPARK_DAG).path("filters").toString().contains("lakelora_safe"));
        assertEquals(
                "scheduled__2025-06-01T00_00_00_00_00",
                h.path("safe_run_ids")
                        .path("scheduled__2025-06-01T00:00:00+00:00")
                        .asText());
        assertEquals(
                "manual__2025-06-01T12_34_56.789012_00_00",
                h.path("safe_run_ids")
                        .path("manual__2025-06-01T12:34:56.789012+00:00")
                        .asText());
    }

    @Test
    void sensorSeesOnlyNewFilesThatJob01Reads(@TempDir Path work) throws Exception {
        JsonNode s = harness(work, null).path("sensor");
        assertFalse(s.path("only_old_file").asBoolean(), s.toString());
        assertFalse(s.path("new_hidden_files").asBoolean(), "_SUCCESS, .crc and _tmp/ are skipped like Spark: " + s);
        assertTrue(s.path("new_file_in_subdir").asBoolean(), s.toString());
        assertTrue(s.path("new_file_as_file_uri").asBoolean(), s.toString());
        assertTrue(s.path("the_new_file_itself").asBoolean(), s.toString());
        assertFalse(s.path("interval_before_every_file").asBoolean(), s.toString());
        assertTrue(s.path("unsupported_scheme").asText().contains("Fix:"), s.toString());
    }

    /** Variables for a render: a corpus whose name needs YAML quoting, a temp lake, this checkout's conf/. */
    static Map<String, String> testVariables(Path corpus, Path lake) {
        Map<String, String> v = new LinkedHashMap<>();
        v.put("lakelora_corpus_uri", corpus.toString());
        v.put("lakelora_lake_root", lake.toUri().toString());
        v.put("lakelora_model_id", "my-model");
        v.put(
                "lakelora_model_path",
                Assets.root().resolve("models/stories260K-hf").toString());
        v.put("lakelora_adapter_name", "support-bot");
        v.put(
                "lakelora_conf_dir",
                ProjectFiles.root().resolve("conf").toUri().toString().replaceAll("/$", ""));
        v.put("lakelora_job_jar", "/opt/lakelora/lakelora-jobs-all.jar");
        v.put("lakelora_packages", "");
        v.put("lakelora_jars", "/opt/delta/delta-spark.jar,/opt/delta/delta-storage.jar");
        v.put("lakelora_settings_train", "train.steps=4 'report.prompts=[Hi, there]'");
        return v;
    }

    @Test
    void everyTemplatedFieldRendersWithJinja2IntoTheHooksSparkSubmitCommand(@TempDir Path work) throws Exception {
        Path corpus = Files.createDirectories(work.resolve("landing, it's new"));
        Files.writeString(corpus.resolve("part-0001.jsonl"), "{}\n");
        OffsetDateTime start = OffsetDateTime.parse("2026-12-06T00:00:00Z");
        Map<String, String> vars = testVariables(corpus, work.resolve("lake"));
        JsonNode h = harness(work, renderSpec(vars, "spark://127.0.0.1:7077", start, start.plusDays(1)));
        String all = h.path("rendered").toString();
        assertFalse(all.contains("{{") || all.contains("{%"), "every template rendered: " + all);
        JsonNode spark = rendered(h, SPARK_DAG);
        JsonNode sensor = spark.path("tasks").get(0);
        assertEquals(
                corpus.toString(),
                sensor.path("fields").path("op_kwargs").path("corpus_uri").asText());
        assertFalse(sensor.path("poke").asBoolean(), "the file is newer than the data interval");
        String flags = String.join(" ", ProjectFiles.jvmArgs());
        JsonNode train = spark.path("tasks").get(4);
        assertEquals("LakeLoRASparkSubmitOperator", train.path("class").asText());
        List<String> expected = List.of(
                "spark-submit",
                "--master",
                "spark://127.0.0.1:7077",
                "--conf",
                "spark.driver.extraJavaOptions=" + flags,
                "--conf",
                "spark.executor.extraJavaOptions=" + flags,
                "--jars",
                vars.get("lakelora_jars"),
                "--name",
                "lakelora-train",
                "--class",
                "io.lakelora.jobs.Main",
                "--deploy-mode",
                "client",
                vars.get("lakelora_job_jar"),
                "train",
                "--config",
                vars.get("lakelora_conf_dir") + "/03_train.yaml",
                "--run-id",
                "airflow-scheduled__2026-12-06T00_00_00_00_00",
                "env=none",
                "lake.root=" + vars.get("lakelora_lake_root"),
                "model.id=my-model",
                "train.adapter_name=support-bot",
                "train.steps=4",
                "report.prompts=[Hi, there]");
        assertEquals(
                expected,
                strings(train.path("spark_submit")),
                "SparkSubmitHook's order, empty --packages "
                        + "left out, job_settings split into words after the application arguments");
        JsonNode trigger =
                rendered(h, "lakelora_retrain_databricks").path("tasks").get(1);
        assertEquals(
                "airflow-scheduled__2026-12-06T00_00_00_00_00-try1",
                trigger.path("fields").path("json").path("idempotency_token").asText());
        assertEquals(
                vars.get("lakelora_lake_root"),
                trigger.path("fields")
                        .path("json")
                        .path("job_parameters")
                        .path("lake_root")
                        .asText());
    }

    /** Runs {@code io.lakelora.jobs.Main} in this JVM with {@code --print-config}: the printed config (stderr). */
    static JsonNode printedConfig(List<String> args) throws Exception {
        List<String> all = new ArrayList<>(args);
        all.add(1, "--print-config");
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code;
        try (PrintStream capture = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            System.setErr(capture);
            code = Cli.run(all.toArray(String[]::new), io.lakelora.jobs.Main.jobCommands());
        } finally {
            System.setErr(err);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, "Main " + all + ":\n" + out);
        int at = out.indexOf("] config:\n");
        assertTrue(at > 0, "the resolved config in:\n" + out);
        return JSON.readTree(JSON.createParser(out.substring(at + "] config:\n".length())));
    }

    @Test
    void renderedApplicationArgsAreWhatTheJobsAccept(@TempDir Path work) throws Exception {
        Path corpus = Files.createDirectories(work.resolve("landing, it's new"));
        Map<String, String> vars = testVariables(corpus, work.resolve("lake"));
        OffsetDateTime start = OffsetDateTime.parse("2026-12-06T00:00:00Z");
        JsonNode tasks = rendered(
                        harness(work, renderSpec(vars, "spark://127.0.0.1:7077", start, start.plusDays(1))), SPARK_DAG)
                .path("tasks");
        Map<String, JsonNode> configs = new LinkedHashMap<>();
        for (int i = 1; i < tasks.size(); i++) {
            List<String> args = applicationArgs(tasks.get(i));
            JsonNode c = printedConfig(args);
            configs.put(args.get(0), c);
            assertEquals(
                    vars.get("lakelora_lake_root"), c.path("lake").path("root").asText(), args.toString());
            assertTrue(c.path("env").isNull() || c.path("env").isMissingNode(), "no env overlay: " + c.path("env"));
            assertTrue(c.path("spark").path("master").isNull(), "spark-submit's master wins: " + c.path("spark"));
            assertEquals("airflow-scheduled__2026-12-06T00_00_00_00_00", args.get(args.indexOf("--run-id") + 1));
        }
        assertEquals(
                List.of("quantize-base", "prepare", "tokenize-pack", "train", "export", "evaluate"),
                new ArrayList<>(configs.keySet()));
        for (String job : List.of("quantize-base", "tokenize-pack", "train")) {
            assertEquals("my-model", configs.get(job).path("model").path("id").asText(), job);
        }
        assertEquals(
                vars.get("lakelora_model_path"),
                configs.get("quantize-base").path("model").path("path").asText());
        JsonNode inputs = configs.get("prepare").path("inputs");
        assertEquals(1, inputs.size(), inputs.toString());
        assertEquals(corpus.toString(), inputs.get(0).path("path").asText(), "job 01 reads what the sensor watches");
        assertEquals("jsonl", inputs.get(0).path("format").asText());
        assertEquals("alpaca", inputs.get(0).path("shape").asText());
        assertEquals(
                "support-bot",
                configs.get("train").path("train").path("adapter_name").asText());
        assertEquals(4, configs.get("train").path("train").path("steps").asInt(), "lakelora_settings_train");
        assertEquals(
                "[\"Hi\",\"there\"]",
                configs.get("train").path("report").path("prompts").toString());
        assertEquals("support-bot@latest", configs.get("export").path("adapter").asText());
        assertEquals(
                "support-bot@latest", configs.get("evaluate").path("adapter").asText());
        // an env overlay by name resolves beside the job config in the conf directory
        vars.put("lakelora_env", "s3-compatible");
        JsonNode prepare = rendered(
                        harness(work, renderSpec(vars, "spark://127.0.0.1:7077", start, start.plusDays(1))), SPARK_DAG)
                .path("tasks")
                .get(2);
        JsonNode c = printedConfig(applicationArgs(prepare));
        assertEquals("s3-compatible", c.path("env").asText());
        assertEquals("http://127.0.0.1:9000", c.path("s3a").path("endpoint").asText(), "from conf/env/s3-compatible");
        assertEquals(vars.get("lakelora_lake_root"), c.path("lake").path("root").asText(), "lake.root= wins");
    }
}
