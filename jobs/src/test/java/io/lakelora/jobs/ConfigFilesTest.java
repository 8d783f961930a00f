package io.lakelora.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.cli.Cli;
import io.lakelora.config.ConfigLoader;
import io.lakelora.jobs.common.CommonConfig;
import io.lakelora.jobs.common.JobConfigs;
import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.common.SparkSessions;
import io.lakelora.jobs.evaluate.EvaluateConfig;
import io.lakelora.jobs.export.ExportConfig;
import io.lakelora.jobs.prepare.PrepareConfig;
import io.lakelora.jobs.quantize.QuantizeConfig;
import io.lakelora.jobs.testing.Confs;
import io.lakelora.jobs.tokenize.TokenizeConfig;
import io.lakelora.jobs.train.TrainJobConfig;
import io.lakelora.train.TrainConfig;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every file in conf/ opens with comments and loads into its typed config (a new file without a mapping fails), every
 * environment overlay of conf/env/ layers over base.yaml and over every Spark job config and wins, and unknown keys
 * and bad values are rejected naming the key.
 */
class ConfigFilesTest {

    @Test
    void everyConfFileOpensWithComments() throws Exception {
        try (Stream<Path> files = Files.walk(Confs.root().resolve("conf"))) {
            List<Path> yamls = files.filter(f -> f.toString().endsWith(".yaml")).toList();
            assertTrue(yamls.size() >= 5, yamls.toString());
            for (Path f : yamls) assertTrue(Files.readString(f).startsWith("#"), f + " opens with what it is for");
        }
    }

    @Test
    void jobConfigsLoadAndValidate() {
        PrepareConfig p = Confs.load("01_prepare_corpus.yaml", PrepareConfig.class);
        p.validate();
        assertEquals("local[2]", p.spark.master, "env/local.yaml (bin/lakelora's default env) layered over the job");
        assertEquals(4, p.inputs.size());
        assertEquals("instances[0].input", p.inputs.get(2).columns.input);
        assertEquals(0.8, p.dedup.near.threshold);
        TokenizeConfig t = Confs.load("02_tokenize_pack.yaml", TokenizeConfig.class, "pack.block_size=256");
        t.validate();
        assertEquals(256, t.pack.blockSize, "key=value overrides win");
        assertEquals("alpaca", t.template.fallback);
    }

    /** Every file directly in conf/ and the typed config it binds to; a new file fails the tests until it is added. */
    static final Map<String, Class<?>> CONF_TYPES = Map.of(
            "base.yaml", CommonConfig.class,
            "00_quantize_base.yaml", QuantizeConfig.class,
            "01_prepare_corpus.yaml", PrepareConfig.class,
            "02_tokenize_pack.yaml", TokenizeConfig.class,
            "03_train.yaml", TrainJobConfig.class,
            "04_export.yaml", ExportConfig.class,
            "05_evaluate.yaml", EvaluateConfig.class,
            "train_local.yaml", TrainConfig.class);

    /** The names of the .yaml files directly in {@code dir}, sorted. */
    static List<String> yamlFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(f -> f.getFileName().toString())
                    .filter(n -> n.endsWith(".yaml"))
                    .sorted()
                    .toList();
        }
    }

    /** Calls the config's validate() (validateCommon() for the shared sections alone); TrainConfig validates when bound. */
    static void validate(Object cfg) throws Exception {
        Method m;
        try {
            m = cfg.getClass().getMethod("validate");
        } catch (NoSuchMethodException e) {
            if (!(cfg instanceof CommonConfig)) return;
            m = CommonConfig.class.getMethod("validateCommon");
        }
        try {
            m.invoke(cfg);
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof Exception x ? x : e;
        }
    }

    @Test
    void everyConfFileBindsToItsTypedConfigAndValidates() throws Exception {
        assertEquals(
                new TreeSet<>(CONF_TYPES.keySet()),
                new TreeSet<>(yamlFiles(Confs.root().resolve("conf"))),
                "each conf/*.yaml needs its typed config class in ConfigFilesTest.CONF_TYPES");
        for (Map.Entry<String, Class<?>> e : CONF_TYPES.entrySet()) {
            Object cfg = ConfigLoader.load(List.of(Confs.conf(e.getKey())), List.of(), e.getValue());
            validate(cfg);
            if (cfg instanceof CommonConfig c) {
                assertNull(
                        c.spark.master,
                        e.getKey() + ": no master of its own (spark-submit's or the platform's "
                                + "wins; bin/lakelora adds env/local.yaml)");
                assertEquals("lake", c.lake.root, e.getKey());
                CommonConfig local = (CommonConfig)
                        JobConfigs.load(List.of(Confs.conf(e.getKey()).toString()), List.of(), e.getValue(), "local");
                assertEquals("local[2]", local.spark.master, e.getKey() + " with bin/lakelora's default env");
                assertEquals("local", local.env, e.getKey());
            }
        }
        TrainConfig local =
                (TrainConfig) ConfigLoader.load(List.of(Confs.conf("train_local.yaml")), List.of(), TrainConfig.class);
        assertEquals(64, local.lora().r(), "train_local.yaml: the QLoRA recipe's r=64");
    }

    @Test
    void everyEnvironmentLayersOverBaseAndEveryJobConfig() throws Exception {
        List<String> envs = yamlFiles(Confs.root().resolve("conf/env"));
        assertTrue(
                envs.containsAll(List.of("local.yaml", "databricks.yaml", "s3.yaml", "yarn.yaml", "k8s.yaml")),
                envs.toString());
        for (String env : envs) {
            Path envFile = Confs.conf("env/" + env);
            JsonNode envTree = ConfigLoader.resolveTree(List.of(envFile), List.of());
            validate(ConfigLoader.load(List.of(Confs.conf("base.yaml"), envFile), List.of(), CommonConfig.class));
            String name = env.substring(0, env.length() - ".yaml".length());
            for (Map.Entry<String, Class<?>> e : CONF_TYPES.entrySet()) {
                if (!CommonConfig.class.isAssignableFrom(e.getValue())
                        || e.getKey().equals("base.yaml")) continue;
                String what = e.getKey() + " + env/" + env;
                // env=NAME, as a cluster launch gives it: the overlay beside the job config, over bin/lakelora's
                // default
                CommonConfig c = (CommonConfig) JobConfigs.load(
                        List.of(Confs.conf(e.getKey()).toString()), List.of("env=" + name), e.getValue(), "local");
                validate(c);
                assertEquals(name, c.env, what);
                if (envTree.path("lake").has("root")) {
                    assertEquals(envTree.path("lake").path("root").asText(), c.lake.root, what);
                }
                JsonNode spark = envTree.path("spark");
                if (spark.has("master")) {
                    assertEquals(
                            spark.get("master").isNull()
                                    ? null
                                    : spark.get("master").asText(),
                            c.spark.master,
                            what);
                }
                spark.path("conf")
                        .fields()
                        .forEachRemaining(kv -> assertEquals(
                                kv.getValue().asText(),
                                c.spark.conf.get(kv.getKey()),
                                what + ": spark.conf." + kv.getKey()));
            }
        }
    }

    @Test
    void unknownKeysAndBadValuesNameTheKey() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> Confs.load("02_tokenize_pack.yaml", TokenizeConfig.class, "pack.blocksize=256"));
        assertTrue(e.getMessage().contains("blocksize"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> Confs.load("02_tokenize_pack.yaml", TokenizeConfig.class, "pack.strategy=first_fit")
                        .validate());
        assertTrue(e.getMessage().contains("pack.strategy"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> Confs.load("01_prepare_corpus.yaml", PrepareConfig.class, "dedup.near.band_rows=5")
                        .validate());
        assertTrue(e.getMessage().contains("dedup.near.band_rows"), e.getMessage());
        PrepareConfig withSecret = Confs.load("01_prepare_corpus.yaml", PrepareConfig.class);
        withSecret.spark.conf.put("spark.hadoop.fs.s3a.secret.key", "x");
        e = assertThrows(IllegalArgumentException.class, withSecret::validate);
        assertTrue(e.getMessage().contains("credential"), e.getMessage());
    }

    @Test
    void sparkSettingsFromConfig() {
        CommonConfig c =
                ConfigLoader.load(List.of(Confs.conf("env/s3-compatible.yaml")), List.of(), CommonConfig.class);
        Map<String, String> s = SparkSessions.settings(c);
        assertEquals("io.delta.sql.DeltaSparkSessionExtension", s.get("spark.sql.extensions"));
        assertEquals("org.apache.spark.sql.delta.catalog.DeltaCatalog", s.get("spark.sql.catalog.spark_catalog"));
        assertEquals("http://127.0.0.1:9000", s.get("spark.hadoop.fs.s3a.endpoint"));
        assertEquals("true", s.get("spark.hadoop.fs.s3a.path.style.access"));
        assertEquals("false", s.get("spark.hadoop.fs.s3a.connection.ssl.enabled"));
        assertEquals("none", s.get("spark.hadoop.fs.s3a.change.detection.mode"));
        assertTrue(s.keySet().stream().noneMatch(k -> k.contains("secret") || k.contains("access.key")));
        assertEquals(
                "s3a://lakelora/lake/tables/corpus_clean", new LakePaths(c.lake.root).table(LakePaths.CORPUS_CLEAN));
        assertEquals("file:/tmp/x/tables/token_blocks", new LakePaths("/tmp/x/").table(LakePaths.TOKEN_BLOCKS));
    }

    /** The spark.hadoop.fs.* settings of files layered in order (their shared sections), by fs.s3a.* key less prefix. */
    private static Map<String, String> s3aKeys(String... files) {
        ObjectNode tree =
                ConfigLoader.resolveTree(Stream.of(files).map(Confs::conf).toList(), List.of());
        tree.retain("lake", "spark", "s3a");
        CommonConfig c =
                ConfigLoader.bind(tree, CommonConfig.class, List.of(files).toString());
        Map<String, String> fs = new TreeMap<>();
        SparkSessions.settings(c).forEach((k, v) -> {
            if (!k.startsWith("spark.hadoop.fs.")) return;
            assertTrue(k.startsWith("spark.hadoop.fs.s3a."), List.of(files) + ": " + k + " is not an s3a key");
            fs.put(k.substring("spark.hadoop.fs.s3a.".length()), v);
        });
        return fs;
    }

    @Test
    void fileSystemSettingsOnlyWhereAnS3OverlayAsksForThem() throws IOException {
        // every platform keeps its own S3 connector and settings (Databricks, YARN, Kubernetes, local): no fs.* keys,
        // not even fs.s3a.impl, from base.yaml, a job config or a cluster overlay
        assertEquals(Map.of(), s3aKeys("base.yaml"));
        List<String> jobs;
        try (Stream<Path> files = Files.list(Confs.root().resolve("conf"))) {
            jobs = files.map(f -> f.getFileName().toString())
                    .filter(n -> n.matches("\\d\\d_[a-z0-9_]+\\.yaml"))
                    .sorted()
                    .toList();
        }
        assertEquals(6, jobs.size(), jobs.toString());
        for (String name : jobs) {
            assertEquals(Map.of(), s3aKeys(name), name);
            for (String env : List.of("databricks.yaml", "yarn.yaml", "k8s.yaml", "local.yaml")) {
                assertEquals(Map.of(), s3aKeys(name, "env/" + env), name + " + env/" + env);
            }
        }
        // AWS S3: the region and the SDK's provider chain only; path style and TLS stay Hadoop's defaults
        assertEquals(
                Map.of(
                        "endpoint.region",
                        "us-east-1",
                        "aws.credentials.provider",
                        "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider"),
                s3aKeys("03_train.yaml", "env/k8s.yaml", "env/s3.yaml"));
        // an S3-compatible store: what s3proxy/MinIO need
        assertEquals(
                Map.of(
                        "endpoint",
                        "http://127.0.0.1:9000",
                        "change.detection.mode",
                        "none",
                        "endpoint.region",
                        "us-east-1",
                        "path.style.access",
                        "true",
                        "connection.ssl.enabled",
                        "false"),
                s3aKeys("03_train.yaml", "env/s3-compatible.yaml"));
    }

    @Test
    void cliPrintsTheResolvedConfigWithoutRunning() {
        assertEquals(
                0,
                Cli.run(
                        new String[] {
                            "prepare",
                            "--print-config",
                            "--config",
                            Confs.conf("01_prepare_corpus.yaml").toString(),
                            "mode=full"
                        },
                        Main.jobCommands()));
        assertEquals(
                0,
                Cli.run(
                        new String[] {
                            "tokenize-pack",
                            "--print-config",
                            "--config",
                            Confs.conf("02_tokenize_pack.yaml").toString()
                        },
                        Main.jobCommands()));
        assertEquals(
                2,
                Cli.run(
                        new String[] {
                            "tokenize-pack",
                            "--print-config",
                            "--config",
                            Confs.conf("02_tokenize_pack.yaml").toString(),
                            "nope=1"
                        },
                        Main.jobCommands()),
                "bad config: exit 2");
    }
}
