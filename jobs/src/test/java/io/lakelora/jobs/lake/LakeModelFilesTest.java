package io.lakelora.jobs.lake;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.testing.S3Proxy;
import io.lakelora.jobs.testing.TestSpark;
import io.lakelora.udfs.SharedTokenizers;
import io.lakelora.util.Assets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Executors read the model and its tokenizer from the lake, never from a local path: a tokenizer on s3a:// (s3proxy)
 * loads through the Hadoop FileSystem with the session's S3A settings and encodes as the local file does (golden ids
 * from stories260K-expected.json).
 */
class LakeModelFilesTest {
    static S3Proxy s3;
    static SparkSession spark;

    @BeforeAll
    static void start() throws Exception {
        s3 = S3Proxy.start("models");
        spark = TestSpark.start(s3.sparkSettings());
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        Path hf = Assets.require("models/stories260K-hf");
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "config.json")) {
            org.apache.hadoop.fs.Path dst = new org.apache.hadoop.fs.Path("s3a://models/stories260K/" + f);
            dst.getFileSystem(conf)
                    .copyFromLocalFile(
                            new org.apache.hadoop.fs.Path(hf.resolve(f).toUri()), dst);
        }
    }

    @AfterAll
    static void stop() {
        TestSpark.stop(spark);
        if (s3 != null) s3.close();
    }

    @Test
    void aTokenizerInTheLakeLoadsOnEveryJvmThroughTheHadoopFileSystem() throws Exception {
        String local = SharedTokenizers.localPath("s3a://models/stories260K");
        assertNotEquals("s3a://models/stories260K", local);
        assertArrayEquals(
                Files.readAllBytes(Assets.require("models/stories260K-hf/tokenizer.json")),
                Files.readAllBytes(Path.of(local, "tokenizer.json")),
                "copied byte for byte");
        // golden ids: stories260K-expected.json, tok512_encodings_no_bos["Once upon a time"]
        int[] ids = SharedTokenizers.get("s3a://models/stories260K").encode("Once upon a time", false);
        assertArrayEquals(new int[] {403, 407, 261, 378}, ids);
        // on the executors (tasks of this session), from the same URI
        List<Integer> n = spark.range(2)
                .repartition(2)
                .javaRDD()
                .map(i -> SharedTokenizers.get("s3a://models/stories260K").encode("Once upon a time", false).length)
                .collect();
        assertEquals(List.of(4, 4), n);
    }

    @Test
    void lakeFsLocalCopiesObjectStoreFilesAndKeepsLocalOnes() throws Exception {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        String file = LakeFs.local("s3a://models/stories260K/config.json", conf);
        assertTrue(file.endsWith("config.json") && Files.isRegularFile(Path.of(file)), file);
        Path hf = Assets.require("models/stories260K-hf");
        assertEquals(hf.toString(), LakeFs.local(hf.toUri().toString(), conf), "file: URIs are used in place");
        assertEquals(hf.toString(), LakeFs.local(hf.toString(), conf), "so are local paths");
    }
}
