package io.lakelora.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.prepare.PrepareConfig;
import io.lakelora.jobs.prepare.PrepareCorpusJob;
import io.lakelora.jobs.testing.PipelineChecks;
import io.lakelora.jobs.testing.S3Proxy;
import io.lakelora.jobs.testing.TestSpark;
import io.lakelora.jobs.tokenize.TokenizePackJob;
import io.lakelora.util.Assets;
import java.nio.file.Files;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Both jobs through s3a:// against a real S3 protocol server (s3proxy on 127.0.0.1, a separate process): the corpora
 * are uploaded with the S3A file system, read from S3, and every Delta table is written to S3. (Reruns and
 * incremental runs are checked on a local lake in SharedCorporaLocalTest: the code paths are the same.)
 */
class SharedCorporaS3Test {
    private static S3Proxy s3;
    private static SparkSession spark;

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
    void bothJobsReadAndWriteThroughS3a() throws Exception {
        FileSystem fs =
                new Path("s3a://lake/").getFileSystem(spark.sparkContext().hadoopConfiguration());
        for (String f : List.of(
                "tinyshakespeare.txt",
                "tinystories_sample.txt",
                "self_instruct_seed_tasks.jsonl",
                "llamafactory_identity.json")) {
            fs.copyFromLocalFile(new Path(Assets.require("corpora/" + f).toUri()), new Path("s3a://lake/corpora/" + f));
        }
        String lake = "s3a://lake/lake";
        PrepareConfig cfg = PipelineChecks.prepareConfig(lake);
        for (PrepareConfig.Input in : cfg.inputs) {
            in.path = "s3a://lake/corpora/" + java.nio.file.Path.of(in.path).getFileName();
        }
        PrepareCorpusJob.Result p = PipelineChecks.prepare(spark, cfg);
        assertTrue(
                PipelineChecks.table(spark, lake, LakePaths.CORPUS_CLEAN)
                        .select("source_file")
                        .distinct()
                        .collectAsList()
                        .stream()
                        .map(r -> r.getString(0))
                        .allMatch(s -> s.startsWith("s3a://lake/corpora/")),
                "lineage names the S3 objects");
        TokenizePackJob.Result t =
                PipelineChecks.tokenize(spark, PipelineChecks.tokenizeConfig(lake), p.count(PrepareCorpusJob.KEPT));
        // the tables are objects in the bucket (s3proxy's filesystem backend keeps them as files)
        assertTrue(
                Files.isDirectory(s3.bucketDir("lake").resolve("lake/tables/token_blocks/_delta_log")), s3.logText());
        assertEquals(
                t.count("blocks"),
                PipelineChecks.table(spark, lake, LakePaths.TOKEN_BLOCKS).count());
    }
}
