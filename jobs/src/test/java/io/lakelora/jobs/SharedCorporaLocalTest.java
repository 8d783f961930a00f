package io.lakelora.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.prepare.PrepareCorpusJob;
import io.lakelora.jobs.testing.PipelineChecks;
import io.lakelora.jobs.testing.TestSpark;
import io.lakelora.jobs.tokenize.TokenizePackJob;
import java.nio.file.Path;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Both jobs on the four shared corpora with conf/01 and conf/02, on a local lake; then reruns add nothing. */
class SharedCorporaLocalTest {
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
        assertEquals(kept, PipelineChecks.table(spark, lake, LakePaths.CORPUS_CLEAN).count());
        assertEquals(p.count(PrepareCorpusJob.QUARANTINED),
                PipelineChecks.table(spark, lake, LakePaths.CORPUS_QUARANTINE).count());
        // incremental: every file is logged as processed, so nothing is read
        assertEquals("nothing_new", PrepareCorpusJob.run(spark, PipelineChecks.prepareConfig(lake)).status());

        // job 02 again over the whole snapshot: every document is already packed
        TokenizePackJob.Result t2 = TokenizePackJob.run(spark, PipelineChecks.tokenizeConfig(lake, "mode=full"));
        assertEquals(0, t2.count("docs_read"));
        assertEquals(blocks, PipelineChecks.table(spark, lake, LakePaths.TOKEN_BLOCKS).count());
        assertEquals("nothing_new", TokenizePackJob.run(spark, PipelineChecks.tokenizeConfig(lake)).status());
    }
}
