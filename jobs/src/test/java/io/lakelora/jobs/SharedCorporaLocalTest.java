package io.lakelora.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.prepare.PrepareConfig;
import io.lakelora.jobs.prepare.PrepareCorpusJob;
import io.lakelora.jobs.testing.PipelineChecks;
import io.lakelora.jobs.testing.TestSpark;
import io.lakelora.jobs.tokenize.TokenizePackJob;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Both jobs on the four shared corpora with conf/01 and conf/02, on a local lake; then reruns add nothing. */
class SharedCorporaLocalTest {
    private static SparkSession spark;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void start() {
        spark = TestSpark.start(Map.of());
    }

    @AfterAll
    static void stop() {
        TestSpark.stop(spark);
    }

    @Test
    void bothJobsOnTheSharedCorporaThenRerunsAddNothing() throws Exception {
        String lake = tmp.resolve("lake").toString();
        PrepareCorpusJob.Result p = PipelineChecks.prepare(spark, PipelineChecks.prepareConfig(lake));
        long kept = p.count(PrepareCorpusJob.KEPT);
        TokenizePackJob.Result t = PipelineChecks.tokenize(spark, PipelineChecks.tokenizeConfig(lake), kept);
        long blocks = t.count("blocks");

        // job 01 again on all files: nothing new is inserted; every row is a duplicate or quarantined again
        PrepareCorpusJob.Result again = PrepareCorpusJob.run(spark, PipelineChecks.prepareConfig(lake, "mode=full"));
        assertEquals(p.read(), again.read());
        assertEquals(0, again.count(PrepareCorpusJob.KEPT));
        assertEquals(kept + p.count(PrepareCorpusJob.EXACT_DUP), again.count(PrepareCorpusJob.EXACT_DUP));
        assertEquals(
                kept, PipelineChecks.table(spark, lake, LakePaths.CORPUS_CLEAN).count());
        assertEquals(
                p.count(PrepareCorpusJob.QUARANTINED),
                PipelineChecks.table(spark, lake, LakePaths.CORPUS_QUARANTINE).count());
        // incremental: every file is logged as processed, so nothing is read
        assertEquals(
                "nothing_new",
                PrepareCorpusJob.run(spark, PipelineChecks.prepareConfig(lake)).status());

        // job 02 again over the whole snapshot: every document is already packed
        TokenizePackJob.Result t2 = TokenizePackJob.run(spark, PipelineChecks.tokenizeConfig(lake, "mode=full"));
        assertEquals(0, t2.count("docs_read"));
        assertEquals(
                blocks,
                PipelineChecks.table(spark, lake, LakePaths.TOKEN_BLOCKS).count());
        assertEquals(
                "nothing_new",
                TokenizePackJob.run(spark, PipelineChecks.tokenizeConfig(lake)).status());

        // a new corpus file arrives: job 01 (incremental) reads only it; job 02 then reads only the new corpus_clean
        // version (its change data feed) and packs only the two new stories
        Path dir = java.nio.file.Files.createDirectories(tmp.resolve("more"));
        java.nio.file.Files.writeString(
                dir.resolve("new_stories.txt"),
                "Tom had a red kite. He flew it high over the "
                        + "hill until the wind went quiet.<|endoftext|>Mia found a small shell on the beach and kept it in a box "
                        + "under her bed.<|endoftext|>"
                        + java.nio.file.Files.readString(
                                        io.lakelora.util.Assets.require("corpora/tinystories_sample.txt"))
                                .split("<\\|endoftext\\|>")[0]);
        PrepareConfig more = PipelineChecks.prepareConfig(lake);
        more.inputs = List.of(more.inputs.get(1));
        more.inputs.get(0).path = dir.toString();
        PrepareCorpusJob.Result p2 = PrepareCorpusJob.run(spark, more);
        assertEquals(3, p2.read());
        assertEquals(2, p2.count(PrepareCorpusJob.KEPT));
        assertEquals(1, p2.count(PrepareCorpusJob.EXACT_DUP), "the first story is already in corpus_clean");
        TokenizePackJob.Result t3 = TokenizePackJob.run(spark, PipelineChecks.tokenizeConfig(lake));
        assertEquals(2, t3.count("docs_read"));
        assertEquals(2, t3.count("docs_packed"));
        assertEquals(
                blocks + t3.count("blocks"),
                PipelineChecks.table(spark, lake, LakePaths.TOKEN_BLOCKS).count());
        Row last = PipelineChecks.table(spark, lake, LakePaths.JOB_RUNS)
                .where("run_id = '" + t3.runId() + "'")
                .first();
        Map<String, Long> versions = last.getJavaMap(last.fieldIndex("table_versions"));
        assertEquals(
                p2.tableVersions().get(LakePaths.CORPUS_CLEAN),
                versions.get(LakePaths.CORPUS_CLEAN),
                "job 02 records the corpus_clean version it read");
    }
}
