package io.lakelora.udfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.util.Assets;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The five SQL functions, registered by one call, used from SQL on a local session with the stories260K tokenizer. */
class LakeLoraUdfsTest {
    private static SparkSession spark;
    private static String model;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder()
                .master("local[2]")
                .appName("udfs-test")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .getOrCreate();
        LakeLoraUdfs.register(spark);
        model = Assets.require("models/stories260K-hf").toString().replace("'", "\\'");
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private static Row one(String sql) {
        return spark.sql(sql).first();
    }

    @Test
    void allFiveAreRegistered() {
        for (String f : LakeLoraUdfs.NAMES) {
            assertTrue(spark.catalog().functionExists(f), f);
        }
    }

    @Test
    void textFunctions() {
        Row r = one("SELECT normalize_text('ＡＢＣ   x\\r\\n\\n\\n\\ny'), scrub_pii('write to a@b.io or 10.0.0.1'), "
                + "normalize_text(NULL)");
        assertEquals("ABC x\n\ny", r.getString(0));
        assertEquals("write to [EMAIL] or [IPV4]", r.getString(1));
        assertNull(r.get(2));
    }

    @Test
    void tokenizeAndCountMatchTheGoldenEncodings() {
        // stories260K-expected.json: "Once upon a time" -> [403, 407, 261, 378] without BOS; the tokenizer adds BOS 1
        Row r = one("SELECT tokenize('Once upon a time', '" + model + "'), token_count('Once upon a time', '" + model
                + "')");
        assertEquals(List.of(1, 403, 407, 261, 378), r.getList(0));
        assertEquals(5, r.getInt(1));
        // many rows over two partitions share one tokenizer per JVM
        long n = spark.sql("SELECT token_count(concat('Hello world ', id), '" + model + "') AS n FROM range(200)")
                .where("n > 6")
                .count();
        assertEquals(200, n);
        assertEquals(1, SharedTokenizers.loaded());
    }

    @Test
    void chatTemplateFallsBackWhenTheModelHasNone() {
        Row r = one("SELECT apply_chat_template(array(named_struct('role', 'user', 'content', 'Hi'), "
                + "named_struct('role', 'assistant', 'content', 'Hello')), '" + model + "', 'chatml', false), "
                + "apply_chat_template(array(named_struct('role', 'user', 'content', 'Hi')), '" + model
                + "', 'alpaca', true)");
        // chatml with stories260K's bos_token <s> (tokenizer_config.json)
        assertEquals("<s><|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n", r.getString(0));
        assertTrue(r.getString(1).endsWith("### Instruction:\nHi\n\n### Response:\n"), r.getString(1));
    }
}
