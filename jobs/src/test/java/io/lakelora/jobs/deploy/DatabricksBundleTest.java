package io.lakelora.jobs.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.lakelora.jobs.common.JobConfigs;
import io.lakelora.jobs.evaluate.EvaluateConfig;
import io.lakelora.jobs.export.ExportConfig;
import io.lakelora.jobs.prepare.PrepareConfig;
import io.lakelora.jobs.quantize.QuantizeConfig;
import io.lakelora.jobs.tokenize.TokenizeConfig;
import io.lakelora.jobs.train.TrainJobConfig;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * databricks.yml, read as YAML: the job chains one task per job config conf/NN_*.yaml in pipeline order, each runs a
 * main class that exists on this classpath with a subcommand registered in io.lakelora.jobs.Main (the one its config's
 * header launches it with), its job config (a file of the repository), the run id from the job parameter (which
 * defaults to {{job.run_id}}), env=databricks and the same lake.root; the tasks hand the model id, the source model,
 * the corpus inputs and the adapter name on as the lake needs them, every location absolute, and each task's
 * parameters bind and validate with the defaults. They run the shaded jar the artifact builds with the dbr profile
 * (whose versions are the runtime's), with bin/jvm.args as the driver and executor Java options. The whole file validates
 * against the Databricks CLI's bundle JSON schema (../shared/schemas), and a misspelled or mistyped key does not.
 */
class DatabricksBundleTest {
    private static final String FILES = "${workspace.file_path}/";

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private static JsonNode bundle;
    private static JsonNode job;
    private static Schema schema;

    @BeforeAll
    static void read() throws Exception {
        bundle = YAML.readTree(ProjectFiles.root().resolve("databricks.yml").toFile());
        job = bundle.path("resources").path("jobs").path("lakelora_pipeline");
        assertTrue(job.isObject(), "resources.jobs.lakelora_pipeline");
    }

    private static List<JsonNode> tasks() {
        List<JsonNode> out = new ArrayList<>();
        job.path("tasks").forEach(out::add);
        return out;
    }

    private static List<String> params(JsonNode task) {
        List<String> out = new ArrayList<>();
        task.path("spark_jar_task").path("parameters").forEach(p -> out.add(p.asText()));
        return out;
    }

    /** A task's ${workspace.file_path}/PATH parameter as the repository file it names, which must exist. */
    private static Path repoFile(String task, String param) {
        assertTrue(param.startsWith(FILES), task + ": " + param + " is not under " + FILES);
        Path f = ProjectFiles.root().resolve(param.substring(FILES.length())).normalize();
        assertTrue(Files.isRegularFile(f), task + ": " + param + " names " + f + ", which is not in the repository");
        return f;
    }

    @Test
    void headerExplainsHowToDeploy() throws Exception {
        String text = Files.readString(ProjectFiles.root().resolve("databricks.yml"));
        assertTrue(text.startsWith("#"), "databricks.yml opens with a comment header");
        assertTrue(text.contains("databricks bundle deploy -t dev"), "deploy command in the header");
        assertEquals("dev", bundle.path("targets").fieldNames().next());
    }

    @Test
    void everyTaskRunsAnExistingMainWithAKnownSubcommand() throws Exception {
        List<JsonNode> tasks = tasks();
        List<Path> confs = ProjectFiles.jobConfs();
        assertEquals(confs.size(), tasks.size(), "one task per job config " + confs);
        Set<String> registered = ProjectFiles.jobCommandNames();
        for (int i = 0; i < tasks.size(); i++) {
            JsonNode t = tasks.get(i);
            String key = t.path("task_key").asText();
            String mainClass = t.path("spark_jar_task").path("main_class_name").asText();
            Class<?> c = Class.forName(mainClass); // throws when the class is not on the classpath
            Method main = c.getMethod("main", String[].class);
            assertTrue(Modifier.isStatic(main.getModifiers()), mainClass + ".main is static");
            List<String> p = params(t);
            assertTrue(
                    registered.contains(p.get(0)),
                    key + ": subcommand " + p.get(0) + " is not registered in io.lakelora.jobs.Main.jobCommands() "
                            + registered);
            Path conf = repoFile(key, p.get(2));
            assertEquals(confs.get(i), conf, key + ": task " + i + " runs the pipeline's job " + i);
            assertEquals(
                    ProjectFiles.launchCommand(conf),
                    p.get(0),
                    key + ": the command " + conf.getFileName() + " says launches it");
        }
    }

    @Test
    void tasksChainInPipelineOrder() {
        List<JsonNode> tasks = tasks();
        assertTrue(tasks.get(0).path("depends_on").isMissingNode(), "the first task depends on nothing");
        for (int i = 1; i < tasks.size(); i++) {
            JsonNode deps = tasks.get(i).path("depends_on");
            assertEquals(1, deps.size(), tasks.get(i).path("task_key") + " depends on exactly its predecessor");
            assertEquals(
                    tasks.get(i - 1).path("task_key").asText(),
                    deps.get(0).path("task_key").asText());
        }
    }

    /** The typed config of each job config, to bind a task's parameters as Main would. */
    private static final Map<String, Class<?>> CONFIG_TYPES = Map.of(
            "00_quantize_base.yaml", QuantizeConfig.class,
            "01_prepare_corpus.yaml", PrepareConfig.class,
            "02_tokenize_pack.yaml", TokenizeConfig.class,
            "03_train.yaml", TrainJobConfig.class,
            "04_export.yaml", ExportConfig.class,
            "05_evaluate.yaml", EvaluateConfig.class);

    /** A task's key=value parameters after the run id, in order. */
    private static Map<String, String> overrides(JsonNode task) {
        List<String> p = params(task);
        Map<String, String> out = new LinkedHashMap<>();
        for (String kv : p.subList(5, p.size())) {
            int eq = kv.indexOf('=');
            assertTrue(eq > 0, task.path("task_key").asText() + ": " + kv + " is not key=value");
            assertEquals(
                    null,
                    out.put(kv.substring(0, eq), kv.substring(eq + 1)),
                    task.path("task_key").asText() + ": " + kv.substring(0, eq) + " given twice");
        }
        return out;
    }

    /** {@code ${var.x}} as the variable's default and {@code {{job.parameters.x}}} as the job parameter's default. */
    private static String resolve(String value) {
        String s = value;
        for (JsonNode p : job.path("parameters")) {
            s = s.replace(
                    "{{job.parameters." + p.path("name").asText() + "}}",
                    p.path("default").asText());
        }
        for (var it = bundle.path("variables").fields(); it.hasNext(); ) {
            var v = it.next();
            s = s.replace(
                    "${var." + v.getKey() + "}", v.getValue().path("default").asText());
        }
        assertTrue(
                !s.contains("${var.") && !s.contains("{{job.parameters."),
                value + ": an undefined variable or " + "job parameter");
        return s;
    }

    @Test
    void tasksPassConfigRunIdEnvAndLakeRoot() throws Exception {
        JsonNode runIdParam = null;
        for (JsonNode p : job.path("parameters")) if (p.path("name").asText().equals("run_id")) runIdParam = p;
        assertEquals(
                "{{job.run_id}}",
                runIdParam == null ? null : runIdParam.path("default").asText(),
                "job parameter run_id defaults to the Databricks job run id");
        List<JsonNode> tasks = tasks();
        for (int i = 0; i < tasks.size(); i++) {
            List<String> p = params(tasks.get(i));
            String key = tasks.get(i).path("task_key").asText();
            assertEquals("--config", p.get(1), key);
            assertTrue(
                    p.get(2).matches("\\$\\{workspace\\.file_path}/conf/0" + i + "_[a-z_]+\\.yaml"),
                    key + ": job config conf/0" + i + "_*.yaml, found " + p.get(2));
            Path conf = repoFile(key, p.get(2));
            // the overlay is picked by env=databricks: conf/env/databricks.yaml beside the job config
            assertEquals(1, p.stream().filter("--config"::equals).count(), key + ": one --config, the job's: " + p);
            repoFile(key, FILES + "conf/env/databricks.yaml");
            assertEquals(List.of("--run-id", "{{job.parameters.run_id}}"), p.subList(3, 5), key);
            Map<String, String> o = overrides(tasks.get(i));
            assertEquals("databricks", o.get("env"), key + ": env=databricks, found " + p);
            assertEquals("{{job.parameters.lake_root}}", o.get("lake.root"), key + ": every task the same lake");
            for (String v : p) {
                assertTrue(
                        !v.contains("../") && !v.contains("shared/assets"),
                        key + ": " + v + " is relative to the "
                                + "repository; tasks run on the cluster, so every location is absolute");
            }
            assertEquals("lakelora", tasks.get(i).path("job_cluster_key").asText(), key);

            // the parameters bind and validate as Main binds them, with the variables' and job parameters' defaults
            List<String> resolved = new ArrayList<>();
            o.forEach((k, v) -> resolved.add(k + "=" + resolve(v)));
            Class<?> type = CONFIG_TYPES.get(conf.getFileName().toString());
            assertTrue(type != null, key + ": no config type for " + conf.getFileName());
            Object cfg;
            try {
                cfg = JobConfigs.load(List.of(conf.toString()), resolved, type, null);
            } catch (IllegalArgumentException e) {
                throw new AssertionError(key + ": " + resolved + " do not bind: " + e.getMessage(), e);
            }
            try {
                type.getMethod("validate").invoke(cfg);
            } catch (InvocationTargetException e) {
                throw new AssertionError(
                        key + ": " + resolved + " do not validate: "
                                + e.getCause().getMessage(),
                        e.getCause());
            }
        }
    }

    /**
     * The lake carries the artifacts from task to task, so the tasks agree on what they name: job 00 records the model
     * from base_model_source under model.id, which 02 and 03 look up; 01 reads corpus_inputs; 03 registers
     * adapter_name, whose latest version 04 and 05 take. The defaults are those of the job configs.
     */
    @Test
    void tasksPassModelCorpusAndAdapterBetweenJobs() throws Exception {
        List<JsonNode> tasks = tasks();
        List<Map<String, String>> o =
                tasks.stream().map(DatabricksBundleTest::overrides).toList();
        assertEquals("${var.model_id}", o.get(0).get("model.id"), "q00 records the model under model.id");
        assertEquals("${var.base_model_source}", o.get(0).get("model.path"), "q00 quantizes the source model");
        assertEquals("${var.corpus_inputs}", o.get(1).get("inputs"), "p01 reads the corpus inputs");
        for (int i : new int[] {2, 3}) {
            assertEquals(
                    "${var.model_id}", o.get(i).get("model.id"), tasks.get(i).path("task_key") + ": model.id");
            assertTrue(
                    !o.get(i).containsKey("model.path") && !o.get(i).containsKey("model.tokenizer"),
                    tasks.get(i).path("task_key") + ": the model from the lake by id, not by path");
        }
        assertEquals("${var.adapter_name}", o.get(3).get("train.adapter_name"), "t03 registers adapter_name");
        for (int i : new int[] {4, 5}) {
            assertEquals(
                    "${var.adapter_name}@latest",
                    o.get(i).get("adapter"),
                    tasks.get(i).path("task_key") + ": the adapter t03 registered");
        }
        assertTrue(!o.get(5).containsKey("model.path"), "v05: the lake copy of the adapter's recorded base");

        JsonNode vars = bundle.path("variables");
        Path confDir = ProjectFiles.root().resolve("conf");
        assertEquals(
                YAML.readTree(confDir.resolve("00_quantize_base.yaml").toFile())
                        .at("/model/id")
                        .asText(),
                vars.at("/model_id/default").asText(),
                "model_id defaults to job 00's model.id");
        assertEquals(
                YAML.readTree(confDir.resolve("03_train.yaml").toFile())
                        .at("/train/adapter_name")
                        .asText(),
                vars.at("/adapter_name/default").asText(),
                "adapter_name defaults to job 03's train.adapter_name");
        for (String v : List.of("lake_root", "base_model_source", "corpus_inputs")) {
            String d = vars.path(v).path("default").asText();
            assertTrue(
                    d.matches("(\\[\\{.*path: )?(/|[a-z][a-z0-9+.-]*:/).*"), v + ": an absolute location, found " + d);
        }
    }

    @Test
    void librariesAreTheShadedJarTheArtifactBuilds() {
        String jar = "./jobs/target/lakelora-jobs-" + ProjectFiles.pom("project.version") + "-all.jar";
        JsonNode artifact = bundle.path("artifacts").path("lakelora_jobs_jar");
        assertEquals("jar", artifact.path("type").asText());
        assertEquals(jar, artifact.path("files").get(0).path("source").asText());
        assertTrue(artifact.path("build").asText().contains("package -pl jobs -am"), "the build makes the shaded jar");
        assertTrue(artifact.path("build").asText().contains(" -Pdbr "), "built for Databricks Runtime: " + artifact);
        for (JsonNode t : tasks()) {
            assertEquals(
                    jar,
                    t.path("libraries").get(0).path("jar").asText(),
                    t.path("task_key").asText());
        }
    }

    @Test
    void clusterIsSpark4WithTheProjectJvmFlags() {
        JsonNode cluster = job.path("job_clusters").get(0).path("new_cluster");
        JsonNode vars = bundle.path("variables");
        assertEquals("${var.spark_version}", cluster.path("spark_version").asText());
        // Databricks Runtime 17.x is Spark 4.0 on Scala 2.13 (release notes, docs.databricks.com)
        assertTrue(
                vars.path("spark_version").path("default").asText().matches("1[7-9]\\.\\d+\\.x-scala2\\.13"),
                vars.path("spark_version").toString());
        String flags = String.join(" ", ProjectFiles.jvmArgs());
        assertEquals(flags, vars.path("jvm_flags").path("default").asText(), "jvm_flags = bin/jvm.args on one line");
        assertEquals(
                "${var.jvm_flags}",
                cluster.path("spark_conf").path("spark.driver.extraJavaOptions").asText());
        assertEquals(
                "${var.jvm_flags}",
                cluster.path("spark_conf")
                        .path("spark.executor.extraJavaOptions")
                        .asText());
    }

    /** The properties of the root pom's profile {@code id}. */
    private static Map<String, String> profileProperties(String id) throws Exception {
        Element project = DocumentBuilderFactory.newInstance()
                .newDocumentBuilder()
                .parse(ProjectFiles.root().resolve("pom.xml").toFile())
                .getDocumentElement();
        NodeList profiles = project.getElementsByTagName("profile");
        for (int i = 0; i < profiles.getLength(); i++) {
            Element p = (Element) profiles.item(i);
            if (!p.getElementsByTagName("id").item(0).getTextContent().trim().equals(id)) continue;
            Map<String, String> out = new java.util.TreeMap<>();
            NodeList props = ((Element) p.getElementsByTagName("properties").item(0)).getChildNodes();
            for (int j = 0; j < props.getLength(); j++) {
                if (props.item(j) instanceof Element e)
                    out.put(e.getTagName(), e.getTextContent().trim());
            }
            return out;
        }
        throw new AssertionError("the root pom has no profile '" + id + "'");
    }

    @Test
    void dbrProfileBuildsForTheClusterRuntime() throws Exception {
        // Databricks Runtime 17.3 LTS: Apache Spark 4.0, Scala 2.13, Hadoop 3.4.1, Java 17 (release notes)
        String runtime =
                bundle.path("variables").path("spark_version").path("default").asText();
        assertTrue(runtime.startsWith("17.3.x-"), "the job cluster runs Databricks Runtime 17.3 LTS, found " + runtime);
        Map<String, String> dbr = profileProperties("dbr");
        assertTrue(dbr.get("spark.version").startsWith("4.0."), "dbr: Spark 4.0.x, found " + dbr);
        assertTrue(dbr.get("delta.version").startsWith("4.0."), "dbr: Delta 4.0.x (Delta for Spark 4.0), found " + dbr);
        assertEquals("3.4.1", dbr.get("hadoop.version"), "dbr: the runtime's Hadoop");
        assertTrue(dbr.get("scala.version").startsWith("2.13."), "dbr: Scala 2.13, found " + dbr);
    }

    /** The Databricks CLI's bundle schema (../shared/schemas/README.md): draft 2020-12 ($defs), read once. */
    private static synchronized Schema schema() throws Exception {
        if (schema == null) {
            Path f = ProjectFiles.root()
                    .resolve("../shared/schemas/databricks-bundle-schema.json")
                    .normalize();
            assertTrue(
                    Files.isRegularFile(f),
                    f + " is missing: the shared schemas sit beside the repository " + "(../shared/schemas)");
            schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                    .getSchema(new ObjectMapper().readTree(f.toFile()));
        }
        return schema;
    }

    private static String describe(List<Error> errors) {
        StringBuilder sb = new StringBuilder();
        for (Error e : errors)
            sb.append("\n  ").append(e.getInstanceLocation()).append(": ").append(e.getMessage());
        return sb.toString();
    }

    /**
     * The raw file, as the CLI's schema sees it in an editor: interpolations such as ${var.num_workers} stand where
     * an integer goes, and the schema accepts them there (every non-string type is oneOf the type or a ${...}
     * string), as the CLI resolves them before it checks types; {{job.parameters.x}} references are plain strings.
     */
    @Test
    void bundleValidatesAgainstTheCliSchema() throws Exception {
        List<Error> errors = schema().validate(bundle);
        assertEquals(List.of(), errors, "databricks.yml against the Databricks CLI bundle schema:" + describe(errors));
        JsonNode cluster = job.path("job_clusters").get(0).path("new_cluster");
        assertEquals(
                "${var.num_workers}",
                cluster.path("num_workers").asText(),
                "an interpolation where the schema wants an integer is part of what validated");
    }

    @Test
    void schemaRejectsAMisspelledOrMistypedKey() throws Exception {
        ObjectNode misspelled = (ObjectNode) bundle.deepCopy();
        ObjectNode task = (ObjectNode) misspelled.at("/resources/jobs/lakelora_pipeline/tasks/0");
        task.set("spark_jar_taks", task.remove("spark_jar_task"));
        List<Error> errors = schema().validate(misspelled);
        assertTrue(
                errors.stream().anyMatch(e -> e.toString().contains("spark_jar_taks")),
                "a misspelled task key must fail validation, got:" + describe(errors));

        ObjectNode mistyped = (ObjectNode) bundle.deepCopy();
        ((ObjectNode) mistyped.at("/resources/jobs/lakelora_pipeline/job_clusters/0/new_cluster"))
                .put("num_workers", "two");
        errors = schema().validate(mistyped);
        assertTrue(
                errors.stream().anyMatch(e -> e.getInstanceLocation().toString().contains("num_workers")),
                "a string that is no interpolation where an integer goes must fail, got:" + describe(errors));
    }
}
