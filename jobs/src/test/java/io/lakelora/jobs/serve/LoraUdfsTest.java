package io.lakelora.jobs.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.registry.AdapterRegistry;
import io.lakelora.jobs.runtime.AdapterPaths;
import io.lakelora.jobs.testing.TestSpark;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.model.Generator;
import io.lakelora.model.LlamaSession;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.LoraAdapter;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * lora_score / lora_generate through Spark SQL on a local lake whose registry holds a real stories260K PEFT adapter:
 * the values equal the engine's own score and greedy generation with the same adapter computed here directly.
 */
class LoraUdfsTest {
    static SparkSession spark;

    @TempDir
    static Path tmp;

    static Path lake;
    static Path peftDir;
    static String registryRoot;

    static final List<String> TEXTS = List.of(
            "Once upon a time, there was a little dog named Max.",
            "The king said to the queen: we shall go.",
            "Lily was happy.");

    @BeforeAll
    static void start() throws Exception {
        spark = TestSpark.start(java.util.Map.of("spark.master", "local[2,4]"));
        LoraServing.clear(); // other classes in this JVM may have served models
        lake = tmp.resolve("lake");
        registryRoot = AdapterPaths.registryRoot(lake.toString());
        peftDir = ServeFixtures.writeAdapter(tmp.resolve("peft"), 7);
        AdapterRegistry reg = new AdapterRegistry(spark, registryRoot);
        reg.register(
                ServeFixtures.record("tiny", "run-1", peftDir, "token_blocks", 1, ServeFixtures.STORIES_SHA256, null));
        // version 2 names a peft_path that holds other weights than the registry's
        reg.register(ServeFixtures.record(
                "tiny",
                "run-2",
                peftDir,
                "token_blocks",
                1,
                ServeFixtures.STORIES_SHA256,
                ServeFixtures.writeAdapter(tmp.resolve("stale"), 8).toUri().toString()));
        // version 3 was trained on another base
        reg.register(ServeFixtures.record("tiny", "run-3", peftDir, "token_blocks", 1, "0".repeat(64), null));
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    static List<Row> query(String sql) {
        StructType schema = new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < TEXTS.size(); i++) rows.add(RowFactory.create(i, TEXTS.get(i)));
        rows.add(RowFactory.create(TEXTS.size(), null));
        spark.createDataFrame(rows, schema).repartition(2).createOrReplaceTempView("docs");
        return spark.sql(sql).collectAsList();
    }

    @Test
    void scoreAndGenerateEqualTheEngineWithTheSameAdapter() throws Exception {
        LoraUdfs.Registered reg = LoraUdfs.register(
                spark,
                registryRoot,
                "tiny@1",
                ServeFixtures.model().toString(),
                LoraUdfs.Options.defaults().withMaxNewTokens(12));
        assertEquals(1, reg.version());
        String exported = LakePaths.toUri(lake.toString()) + "/exports/tiny/v1";
        assertEquals(exported, reg.adapterUri(), "no peft_path registered: the registry's bytes are exported");
        assertArrayEquals(
                Files.readAllBytes(peftDir.resolve(PeftAdapter.WEIGHTS_FILE)),
                Files.readAllBytes(lake.resolve("exports/tiny/v1").resolve(PeftAdapter.WEIGHTS_FILE)));

        List<Row> rows = query("SELECT id, lora_score(text) AS nll, lora_generate(text) AS gen FROM docs ORDER BY id");

        // the engine directly: NF4 base, the fixture adapter's slab, greedy decoding
        LlamaWeights base = ServeFixtures.nf4Base();
        LoraAdapter adapter = LoraServing.toLoraAdapter(PeftAdapter.load(peftDir, base.arch()));
        try (Tokenizer tok = Tokenizer.load(ServeFixtures.model())) {
            for (int i = 0; i < TEXTS.size(); i++) {
                int[] ids = tok.encode(TEXTS.get(i), true);
                double[] s = new LlamaSession(base, KernelProvider.withThreads(1), adapter, ids.length, 256).score(ids);
                double[] plain =
                        new LlamaSession(base, KernelProvider.withThreads(1), null, ids.length, 256).score(ids);
                Row r = rows.get(i);
                System.out.printf(
                        "text %d: lora_score %.6f, engine %.6f, base %.6f; lora_generate '%s'%n",
                        i, r.getDouble(1), s[0] / s[1], plain[0] / plain[1], r.getString(2));
                assertEquals(s[0] / s[1], r.getDouble(1), 1e-9 * Math.abs(s[0] / s[1]));
                assertNotEquals(plain[0] / plain[1], r.getDouble(1), 1e-3, "the adapter changes the score");

                LlamaSession gs = new LlamaSession(base, KernelProvider.withThreads(1), adapter, ids.length + 12, 256);
                Generator.Result g = Generator.generate(gs, ids, Generator.Config.greedy(12, Set.of(2)), null);
                assertEquals(tok.decode(g.tokens(), true), r.getString(2));
            }
        }
        assertTrue(rows.get(TEXTS.size()).isNullAt(1) && rows.get(TEXTS.size()).isNullAt(2), "null in, null out");
        assertEquals(1, LoraServing.bases(), "both functions share one base per JVM");
    }

    @Test
    void aStalePeftPathIsNotServed() {
        LoraUdfs.Registered reg = LoraUdfs.register(
                spark,
                registryRoot,
                "tiny@2",
                ServeFixtures.model().toString(),
                LoraUdfs.Options.defaults().withNames("gen_v2", "score_v2"));
        assertEquals(LakePaths.toUri(lake.toString()) + "/exports/tiny/v2", reg.adapterUri());
    }

    @Test
    void aMatchingPeftPathIsServedAsIs() throws Exception {
        AdapterRegistry r = new AdapterRegistry(
                spark, tmp.resolve("lake-peft").resolve("registry").toString());
        r.register(ServeFixtures.record(
                "own",
                "run-1",
                peftDir,
                "token_blocks",
                1,
                ServeFixtures.STORIES_SHA256,
                peftDir.toUri().toString()));
        LoraUdfs.Registered reg = LoraUdfs.register(
                spark,
                tmp.resolve("lake-peft").resolve("registry").toString(),
                "own",
                ServeFixtures.model().toString(),
                LoraUdfs.Options.defaults().withNames("gen_own", "score_own"));
        assertEquals(peftDir.toUri().toString(), reg.adapterUri());
        assertTrue(Files.notExists(tmp.resolve("lake-peft/exports")), "nothing exported");
    }

    @Test
    void closuresCarryOnlyUris() throws Exception {
        ServeTarget t = new ServeTarget("s3a://bucket/lake/models/m-nf4", "nf4", "s3a://bucket/lake/exports/a/v1", 1);
        for (Object udf : List.of(new LoraUdfs.ScoreUdf(t), new LoraUdfs.GenerateUdf(t, 64))) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject(udf);
            }
            assertTrue(
                    bytes.size() < 1024, udf.getClass().getSimpleName() + " serializes to " + bytes.size() + " bytes");
        }
    }

    @Test
    void badInputIsNamed() {
        String model = ServeFixtures.model().toString();
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> LoraUdfs.register(spark, registryRoot, "nope@1", model, LoraUdfs.Options.defaults()));
        assertTrue(e.getMessage().contains("nope@1"), e.getMessage());
        Path missing = tmp.resolve("no-model");
        e = assertThrows(
                IllegalArgumentException.class,
                () -> LoraUdfs.register(
                        spark, registryRoot, "tiny@1", missing.toString(), LoraUdfs.Options.defaults()));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("tiny@1"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> LoraUdfs.register(spark, registryRoot, "tiny@3", model, LoraUdfs.Options.defaults()));
        assertTrue(
                e.getMessage().contains("tiny@3") && e.getMessage().contains(ServeFixtures.STORIES_SHA256),
                e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> LoraUdfs.register(
                        spark,
                        tmp.resolve("no-lake/registry").toString(),
                        "tiny@1",
                        model,
                        LoraUdfs.Options.defaults()));
        assertTrue(e.getMessage().contains("no adapter registry"), e.getMessage());
        assertNull(
                LoraServing.score(new ServeTarget(LakePaths.toUri(model), "nf4", null, 1), ""),
                "a text with no token to predict has no score");
    }
}
