package io.lakelora.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.cli.Cli;
import io.lakelora.config.ConfigLoader;
import io.lakelora.jobs.common.CommonConfig;
import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.common.SparkSessions;
import io.lakelora.jobs.prepare.PrepareConfig;
import io.lakelora.jobs.testing.Confs;
import io.lakelora.jobs.tokenize.TokenizeConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Every file in conf/ loads into its typed config, opens with comments, and rejects unknown keys. */
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
    void notebooksAreDatabricksSourceWithWidgetsConfigAndJob() throws Exception {
        Map<String, String> jobs = Map.of("01_prepare_corpus.scala", "PrepareCorpusJob.run(spark, cfg)",
                "02_tokenize_pack.scala", "TokenizePackJob.run(spark, cfg)");
        for (Map.Entry<String, String> e : jobs.entrySet()) {
            String nb = Files.readString(Confs.root().resolve("notebooks").resolve(e.getKey()));
            assertTrue(nb.startsWith("// Databricks notebook source\n"), e.getKey());
            assertTrue(nb.contains("// COMMAND ----------") && nb.contains("dbutils.widgets.text(\"config\""), e.getKey());
            assertTrue(nb.indexOf("dbutils.widgets") < nb.indexOf("ConfigLoader.load")
                    && nb.indexOf("ConfigLoader.load") < nb.indexOf(e.getValue()), e.getKey() + ": widgets -> config -> job");
        }
    }

    @Test
    void jobConfigsLoadAndValidate() {
        PrepareConfig p = Confs.load("01_prepare_corpus.yaml", PrepareConfig.class);
        p.validate();
        assertEquals("local[2]", p.spark.master, "env/local.yaml layered over base.yaml");
        assertEquals(4, p.inputs.size());
        assertEquals("instances[0].input", p.inputs.get(2).columns.input);
        assertEquals(0.8, p.dedup.near.threshold);
        TokenizeConfig t = Confs.load("02_tokenize_pack.yaml", TokenizeConfig.class, "pack.block_size=256");
        t.validate();
        assertEquals(256, t.pack.blockSize, "key=value overrides win");
        assertEquals("alpaca", t.template.fallback);
        for (String env : List.of("base.yaml", "env/local.yaml", "env/s3-compatible.yaml", "env/s3.yaml",
                "env/databricks.yaml", "env/k8s.yaml", "env/yarn.yaml")) {
            // each environment layered over a job config still binds (no key the jobs do not know)
            Confs.load("01_prepare_corpus.yaml", PrepareConfig.class);
            ConfigLoader.load(List.of(Confs.conf("02_tokenize_pack.yaml"), Confs.conf(env)), List.of(),
                    TokenizeConfig.class).validate();
        }
    }

    @Test
    void unknownKeysAndBadValuesNameTheKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Confs.load("02_tokenize_pack.yaml", TokenizeConfig.class, "pack.blocksize=256"));
        assertTrue(e.getMessage().contains("blocksize"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Confs.load("02_tokenize_pack.yaml", TokenizeConfig.class, "pack.strategy=first_fit").validate());
        assertTrue(e.getMessage().contains("pack.strategy"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Confs.load("01_prepare_corpus.yaml", PrepareConfig.class, "dedup.near.band_rows=5").validate());
        assertTrue(e.getMessage().contains("dedup.near.band_rows"), e.getMessage());
        PrepareConfig withSecret = Confs.load("01_prepare_corpus.yaml", PrepareConfig.class);
        withSecret.spark.conf.put("spark.hadoop.fs.s3a.secret.key", "x");
        e = assertThrows(IllegalArgumentException.class, withSecret::validate);
        assertTrue(e.getMessage().contains("credential"), e.getMessage());
    }

    @Test
    void sparkSettingsFromConfig() {
        CommonConfig c = ConfigLoader.load(List.of(Confs.conf("env/s3-compatible.yaml")), List.of(), CommonConfig.class);
        Map<String, String> s = SparkSessions.settings(c);
        assertEquals("io.delta.sql.DeltaSparkSessionExtension", s.get("spark.sql.extensions"));
        assertEquals("org.apache.spark.sql.delta.catalog.DeltaCatalog", s.get("spark.sql.catalog.spark_catalog"));
        assertEquals("http://127.0.0.1:9000", s.get("spark.hadoop.fs.s3a.endpoint"));
        assertEquals("true", s.get("spark.hadoop.fs.s3a.path.style.access"));
        assertEquals("false", s.get("spark.hadoop.fs.s3a.connection.ssl.enabled"));
        assertTrue(s.keySet().stream().noneMatch(k -> k.contains("secret") || k.contains("access.key")));
        assertEquals("s3a://lakelora/lake/tables/corpus_clean", new LakePaths(c.lake.root).table(LakePaths.CORPUS_CLEAN));
        assertEquals("file:/tmp/x/tables/token_blocks", new LakePaths("/tmp/x/").table(LakePaths.TOKEN_BLOCKS));
    }

    @Test
    void cliPrintsTheResolvedConfigWithoutRunning() {
        assertEquals(0, Cli.run(new String[] {"prepare", "--print-config", "--config",
                Confs.conf("01_prepare_corpus.yaml").toString(), "mode=full"}, Main.jobCommands()));
        assertEquals(0, Cli.run(new String[] {"tokenize-pack", "--print-config", "--config",
                Confs.conf("02_tokenize_pack.yaml").toString()}, Main.jobCommands()));
        assertEquals(2, Cli.run(new String[] {"tokenize-pack", "--print-config", "--config",
                Confs.conf("02_tokenize_pack.yaml").toString(), "nope=1"}, Main.jobCommands()), "bad config: exit 2");
    }
}
