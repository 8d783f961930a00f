package io.lakelora.jobs.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.testing.TestSpark;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdapterRegistryTest {
    static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = TestSpark.start(java.util.Map.of("spark.master", "local[2,4]"));
    }

    @AfterAll
    static void stop() {
        TestSpark.stop(spark);
    }

    static AdapterRecord rec(String name, String runId, double loss) {
        return new AdapterRecord(
                name,
                runId,
                "stories260K",
                "abc123",
                "file:/lake/token_blocks",
                4L,
                "{\"lora\":{\"r\":8}}",
                8,
                16.0,
                List.of("q_proj", "v_proj"),
                loss,
                loss + 0.1,
                1000L,
                10L,
                3.5,
                ("weights-" + runId).getBytes(StandardCharsets.UTF_8),
                "{\"r\":8}",
                "file:/lake/peft/" + runId);
    }

    @Test
    void versionsAreConsecutiveAndRerunsRegisterNothingNew(@TempDir Path dir) {
        AdapterRegistry reg = new AdapterRegistry(spark, dir.toUri().toString());
        AdapterRegistry.Registered a = reg.register(rec("shakespeare", "run-a", 2.0));
        AdapterRegistry.Registered b = reg.register(rec("shakespeare", "run-b", 1.9));
        AdapterRegistry.Registered other = reg.register(rec("identity", "run-c", 1.5));
        assertEquals(1, a.version());
        assertEquals(2, b.version());
        assertEquals(1, other.version());
        AdapterRegistry.Registered again = reg.register(rec("shakespeare", "run-a", 9.9));
        assertEquals(1, again.version());
        assertFalse(again.created());
        assertEquals(2, reg.versions("shakespeare").size());

        Row latest = reg.resolve("shakespeare");
        assertEquals(2, latest.getInt(latest.fieldIndex("version")));
        assertArrayEquals("weights-run-b".getBytes(StandardCharsets.UTF_8), (byte[])
                latest.get(latest.fieldIndex("adapter_safetensors")));
        assertEquals(
                Math.exp(2.0 + 0.1), reg.resolve("shakespeare@1").getDouble(latest.fieldIndex("perplexity")), 1e-9);

        reg.setAlias("shakespeare", "production", 1);
        assertEquals(1, reg.resolve("shakespeare@production").getInt(latest.fieldIndex("version")));
        reg.setAlias("shakespeare", "production", 2);
        assertEquals(2, reg.resolve("shakespeare@production").getInt(latest.fieldIndex("version")));

        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> reg.resolve("shakespeare@staging"));
        assertTrue(e.getMessage().contains("no alias 'staging'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> reg.resolve("shakespeare@7"));
        assertThrows(IllegalArgumentException.class, () -> reg.setAlias("shakespeare", "production", 7));
        assertThrows(IllegalArgumentException.class, () -> reg.register(rec("bad name!", "r", 1)));

        // time travel: version 0 of the Delta table is the empty table, version 1 holds the first registration
        long rowsAtV1 = spark.read()
                .format("delta")
                .option("versionAsOf", 1)
                .load(reg.adaptersPath())
                .count();
        assertEquals(1, rowsAtV1);
    }

    @Test
    void reEvaluatingTheSameVersionOnTheSameDatasetVersionReplacesItsRow(@TempDir Path dir) {
        AdapterRegistry reg = new AdapterRegistry(spark, dir.toUri().toString());
        reg.ensureTables();
        reg.register(rec("shakespeare", "run-a", 2.0));
        reg.recordEval("shakespeare", 1, "file:/lake/token_blocks", 4L, 2.5, 100L, "[]");
        reg.recordEval("shakespeare", 1, "file:/lake/token_blocks", 4L, 2.25, 120L, "[\"again\"]"); // a retried job
        reg.recordEval("shakespeare", 1, "file:/lake/token_blocks", 5L, 2.0, 130L, "[]"); // a new dataset version
        List<Row> rows = spark.read()
                .format("delta")
                .load(reg.evalsPath())
                .orderBy("dataset_version")
                .collectAsList();
        assertEquals(2, rows.size(), rows.toString());
        assertEquals(4L, rows.get(0).getLong(rows.get(0).fieldIndex("dataset_version")));
        assertEquals(2.25, rows.get(0).getDouble(rows.get(0).fieldIndex("eval_loss")));
        assertEquals(120L, rows.get(0).getLong(rows.get(0).fieldIndex("tokens")));
        assertEquals("[\"again\"]", rows.get(0).getString(rows.get(0).fieldIndex("samples_json")));
        assertEquals(Math.exp(2.0), rows.get(1).getDouble(rows.get(1).fieldIndex("perplexity")), 1e-12);
    }

    @Test
    void concurrentRegistrationsGetDistinctConsecutiveVersions(@TempDir Path dir) throws Exception {
        AdapterRegistry reg = new AdapterRegistry(spark, dir.toUri().toString());
        reg.ensureTables();
        int n = 3;
        CyclicBarrier barrier = new CyclicBarrier(n);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<AdapterRegistry.Registered>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                final int id = i;
                Callable<AdapterRegistry.Registered> c = () -> {
                    barrier.await();
                    return reg.register(rec("concurrent", "run-" + id, 1.0 + id));
                };
                fs.add(pool.submit(c));
            }
            Set<Integer> versions = new TreeSet<>();
            int retried = 0;
            for (Future<AdapterRegistry.Registered> f : fs) {
                AdapterRegistry.Registered r = f.get();
                assertTrue(r.created());
                versions.add(r.version());
                if (r.attempts() > 1) retried++;
            }
            assertEquals(Set.of(1, 2, 3), versions);
            assertEquals(n, reg.versions("concurrent").size());
            System.out.println(
                    "concurrent registrations: versions " + versions + ", " + retried + " retried after a conflict");
            assertNotEquals(
                    0, retried, "registrations raced but none conflicted: the test did not exercise concurrency");
        } finally {
            pool.shutdownNow();
        }
    }
}
