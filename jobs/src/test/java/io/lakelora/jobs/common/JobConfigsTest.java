package io.lakelora.jobs.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.config.ConfigLoader;
import io.lakelora.jobs.testing.Confs;
import io.lakelora.jobs.testing.S3Proxy;
import io.lakelora.jobs.train.TrainJobConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Job configs: the env overlay chosen by one key, configs from Hadoop URIs, and whose master wins. */
class JobConfigsTest {
    static final String TRAIN = Confs.conf("03_train.yaml").toString();

    @Test
    void envComesFromAnOverrideElseTheFileElseTheLauncherDefault() {
        TrainJobConfig none = JobConfigs.load(List.of(TRAIN), List.of(), TrainJobConfig.class, null);
        assertNull(none.env);
        assertNull(none.spark.master, "spark-submit launches: no overlay, no master of the config's own");
        assertEquals(8, none.spark.shufflePartitions, "base.yaml's");

        TrainJobConfig local = JobConfigs.load(List.of(TRAIN), List.of(), TrainJobConfig.class, "local");
        assertEquals("local[2]", local.spark.master, "bin/lakelora's default env/local.yaml");
        assertEquals(2, local.spark.shufflePartitions);

        TrainJobConfig yarn = JobConfigs.load(List.of(TRAIN), List.of("env=yarn"), TrainJobConfig.class, "local");
        assertEquals("yarn", yarn.env);
        assertNull(yarn.spark.master, "env=yarn replaces the default overlay: spark-submit's master wins");
        assertEquals("hdfs:///user/lakelora/lake", yarn.lake.root);
        assertEquals(64, yarn.spark.shufflePartitions);

        TrainJobConfig over =
                JobConfigs.load(List.of(TRAIN), List.of("env=yarn", "lake.root=s3a://b/l"), TrainJobConfig.class, null);
        assertEquals("s3a://b/l", over.lake.root, "key=value overrides apply after the overlay");

        TrainJobConfig two = JobConfigs.load(List.of(TRAIN), List.of("env=k8s,s3"), TrainJobConfig.class, null);
        assertEquals(
                "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider",
                two.s3a.credentialsProvider,
                "the second overlay (s3)");
        assertEquals("0.25", two.spark.conf.get("spark.executor.memoryOverheadFactor"), "and the first (k8s)");

        TrainJobConfig off = JobConfigs.load(List.of(TRAIN), List.of("env=none"), TrainJobConfig.class, "local");
        assertNull(off.env);
        assertNull(off.spark.master);
    }

    @Test
    void anEnvSetInAConfigFileAndAnEnvFileByPath(@TempDir Path dir) throws Exception {
        Path conf = Files.createDirectories(dir.resolve("conf"));
        Files.createDirectories(conf.resolve("env"));
        Files.writeString(conf.resolve("base.yaml"), "# base\nlake:\n  root: lake\n");
        Files.writeString(conf.resolve("env/site.yaml"), "# site\nlake:\n  root: s3a://site/lake\n");
        Files.writeString(conf.resolve("job.yaml"), "# job\nextends: base.yaml\nenv: site\n");
        CommonConfig c =
                JobConfigs.load(List.of(conf.resolve("job.yaml").toString()), List.of(), CommonConfig.class, "local");
        assertEquals("site", c.env);
        assertEquals("s3a://site/lake", c.lake.root);
        String envFile = conf.resolve("env/site.yaml").toUri().toString();
        CommonConfig byPath = JobConfigs.load(
                List.of(conf.resolve("base.yaml").toString()), List.of("env=" + envFile), CommonConfig.class, null);
        assertEquals("s3a://site/lake", byPath.lake.root);
    }

    @Test
    void anUnknownEnvNamesTheFileItLookedForAndTheFix() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> JobConfigs.load(List.of(TRAIN), List.of("env=yran"), TrainJobConfig.class, null));
        assertTrue(e.getMessage().contains("env/yran.yaml") && e.getMessage().contains("Fix:"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> JobConfigs.load(List.of("conf/no_such_job.yaml"), List.of(), TrainJobConfig.class, null));
        assertTrue(e.getMessage().startsWith("config file not found"), e.getMessage());
    }

    @Test
    void locationsAndExtendsResolveOnAnyScheme() {
        String q = JobConfigs.qualify("conf/03_train.yaml");
        assertTrue(q.startsWith("file:/") && q.endsWith("/conf/03_train.yaml"), q);
        assertEquals(
                "/Volumes/main/lakelora/conf/03_train.yaml",
                JobConfigs.qualify("/Volumes/main/lakelora/conf/03_train.yaml"),
                "the default file system's");
        assertEquals("s3a://b/conf/x.yaml", JobConfigs.qualify("s3a://b/conf/x.yaml"));
        assertEquals(
                "file:/Workspace/Users/me/conf/03_train.yaml",
                JobConfigs.qualify("/Workspace/Users/me/conf/03_train.yaml"),
                "Databricks workspace files");
        ConfigLoader.Source src = JobConfigs.source(new Configuration());
        assertEquals("s3a://b/conf/base.yaml", src.resolve("s3a://b/conf/03_train.yaml", "base.yaml"));
        assertEquals("s3a://b/conf/env/yarn.yaml", src.resolve("s3a://b/conf/03_train.yaml", "env/yarn.yaml"));
        assertEquals("dbfs:/x/base.yaml", src.resolve("dbfs:/x/conf/03.yaml", "../base.yaml"));
        assertEquals("/Volumes/v/conf/base.yaml", src.resolve("/Volumes/v/conf/03.yaml", "base.yaml"));
    }

    @Test
    void configsLoadFromAnObjectStoreWithExtendsAndTheEnvOverlay() throws Exception {
        try (S3Proxy s3 = S3Proxy.start("confs")) {
            Path root = Confs.root().resolve("conf");
            Configuration conf = new Configuration();
            s3.sparkSettings().forEach((k, v) -> {
                if (k.startsWith("spark.hadoop.")) conf.set(k.substring("spark.hadoop.".length()), v);
            });
            for (String f : List.of("base.yaml", "03_train.yaml", "env/k8s.yaml")) { // uploaded through s3a
                org.apache.hadoop.fs.Path dst = new org.apache.hadoop.fs.Path("s3a://confs/conf/" + f);
                dst.getFileSystem(conf)
                        .copyFromLocalFile(
                                new org.apache.hadoop.fs.Path(root.resolve(f).toUri()), dst);
            }
            ConfigLoader.Source src = JobConfigs.source(conf);
            var tree = ConfigLoader.resolveTree(List.of("s3a://confs/conf/03_train.yaml"), List.of(), src);
            assertEquals("stories260K", tree.path("model").path("id").asText(), "read from s3a://");
            assertEquals(
                    "lake", tree.path("lake").path("root").asText(), "extends: base.yaml, beside it in the bucket");
            var k8s = ConfigLoader.resolveTree(List.of("s3a://confs/conf/env/k8s.yaml"), List.of(), src);
            assertEquals(
                    "0.25",
                    k8s.path("spark")
                            .path("conf")
                            .path("spark.executor.memoryOverheadFactor")
                            .asText());
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> ConfigLoader.resolveTree(List.of("s3a://confs/conf/missing.yaml"), List.of(), src));
            assertTrue(e.getMessage().contains("s3a://confs/conf/missing.yaml"), e.getMessage());
        }
    }

    @Test
    void sparkSubmitsMasterWinsOverTheConfigs() {
        CommonConfig c = new CommonConfig();
        c.spark.master = "local[2]";
        assertEquals(
                "spark://127.0.0.1:7077",
                SparkSessions.masterFor(c, new SparkConf(false).set("spark.master", "spark://127.0.0.1:7077")));
        assertEquals("local[2]", SparkSessions.masterFor(c, new SparkConf(false)));
        c.spark.master = null;
        assertEquals("local[2]", SparkSessions.masterFor(c, new SparkConf(false)), "nothing set anywhere");
    }
}
