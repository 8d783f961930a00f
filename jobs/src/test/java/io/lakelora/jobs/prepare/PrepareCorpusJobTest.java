package io.lakelora.jobs.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.testing.Confs;
import io.lakelora.jobs.testing.TestSpark;
import java.nio.file.Path;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Job 01 on the four shared corpora with conf/01_prepare_corpus.yaml, on a local lake. */
class PrepareCorpusJobTest {
    private static SparkSession spark;
    @TempDir static Path tmp;

    @BeforeAll
    static void start() {
        spark = TestSpark.start(Map.of());
    }

    @AfterAll
    static void stop() {
        TestSpark.stop(spark);
    }

    static PrepareConfig sharedCorpora(String lake, String... overrides) {
        String[] all = new String[overrides.length + 1];
        all[0] = "lake.root=" + lake;
        System.arraycopy(overrides, 0, all, 1, overrides.length);
        PrepareConfig cfg = Confs.load("01_prepare_corpus.yaml", PrepareConfig.class, all);
        for (PrepareConfig.Input in : cfg.inputs) in.path = Confs.asset(in.path);
        return cfg;
    }

    private static Dataset<Row> table(String lake, String name) {
        return spark.read().format("delta").load(new LakePaths(lake).table(name));
    }

    @Test
    void sharedCorporaReconcileAndRerunsAddNothing() {
        String lake = tmp.resolve("lake").toString();
        PrepareCorpusJob.Result r = PrepareCorpusJob.run(spark, sharedCorpora(lake));
        // rows per source, counted independently with Python on the asset files: tinyshakespeare 7222 non-blank
        // "\n\n"-separated pieces, tinystories 5 "<|endoftext|>"-separated stories, self_instruct 175 lines,
        // identity 91 array elements
        assertEquals(7222 + 5 + 175 + 91, r.read());
        long kept = r.count(PrepareCorpusJob.KEPT);
        long quarantined = r.count(PrepareCorpusJob.QUARANTINED);
        long exact = r.count(PrepareCorpusJob.EXACT_DUP);
        long near = r.count(PrepareCorpusJob.NEAR_DUP);
        System.out.println("[test] counts " + r.counts() + " details " + r.details());
        assertEquals(r.read(), kept + quarantined + exact + near);
        assertTrue(kept > 6000, "most speeches are kept: " + kept);
        assertTrue(exact > 0, "tinyshakespeare repeats some speeches verbatim");
        assertTrue(near > 0, "identity answers differ in a few characters");
        assertTrue(quarantined > 0, "some speeches are shorter than min_chars 8");
        assertEquals(kept, table(lake, LakePaths.CORPUS_CLEAN).count());
        assertEquals(quarantined, table(lake, LakePaths.CORPUS_QUARANTINE).count());
        assertEquals(kept, r.details().get("corpus_clean.inserted"));
        Row run = table(lake, LakePaths.JOB_RUNS).where("run_id = '" + r.runId() + "'").first();
        assertEquals("succeeded", run.getAs("status"));
        Map<String, Long> recorded = run.getJavaMap(run.fieldIndex("counts"));
        assertEquals(r.read(), recorded.get("rows_read"));
        assertEquals(kept, recorded.get("kept"));
        // every kept document's source row is a real position in its file
        assertEquals(0, table(lake, LakePaths.CORPUS_CLEAN).where("source_row < 1 OR source_file IS NULL").count());

        // the same input again, all files: nothing new is inserted; every row is a duplicate or quarantined again
        PrepareCorpusJob.Result again = PrepareCorpusJob.run(spark, sharedCorpora(lake, "mode=full"));
        assertEquals(r.read(), again.read());
        assertEquals(0, again.count(PrepareCorpusJob.KEPT));
        assertEquals(kept + exact, again.count(PrepareCorpusJob.EXACT_DUP) - 0 * near);
        assertEquals(kept, table(lake, LakePaths.CORPUS_CLEAN).count());
        assertEquals(quarantined, table(lake, LakePaths.CORPUS_QUARANTINE).count());

        // incremental: every file is logged as processed, so nothing is read
        PrepareCorpusJob.Result inc = PrepareCorpusJob.run(spark, sharedCorpora(lake, "mode=incremental"));
        assertEquals("nothing_new", inc.status());
        assertEquals(0, inc.read());
    }
}
