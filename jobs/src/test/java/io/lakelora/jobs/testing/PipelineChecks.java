package io.lakelora.jobs.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.prepare.PrepareConfig;
import io.lakelora.jobs.prepare.PrepareCorpusJob;
import io.lakelora.jobs.tokenize.TokenizeConfig;
import io.lakelora.jobs.tokenize.TokenizePackJob;
import io.lakelora.text.Packing;
import io.lakelora.tokenizer.Tokenizer;
import io.lakelora.util.Assets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The "must show" of the data jobs, shared by the local and the s3a test: both jobs on the four shared corpora with
 * the project's conf files, counts reconciled, blocks checked token by token against the source files.
 */
public final class PipelineChecks {
    private PipelineChecks() {}

    public static PrepareConfig prepareConfig(String lake, String... overrides) {
        String[] all = new String[overrides.length + 1];
        all[0] = "lake.root=" + lake;
        System.arraycopy(overrides, 0, all, 1, overrides.length);
        PrepareConfig cfg = Confs.load("01_prepare_corpus.yaml", PrepareConfig.class, all);
        for (PrepareConfig.Input in : cfg.inputs) in.path = Confs.asset(in.path);
        return cfg;
    }

    public static TokenizeConfig tokenizeConfig(String lake, String... overrides) {
        String[] all = new String[overrides.length + 1];
        all[0] = "lake.root=" + lake;
        System.arraycopy(overrides, 0, all, 1, overrides.length);
        TokenizeConfig cfg = Confs.load("02_tokenize_pack.yaml", TokenizeConfig.class, all);
        cfg.model.tokenizer = Confs.assetOrModel(cfg.model.tokenizer);
        return cfg;
    }

    public static Dataset<Row> table(SparkSession spark, String lake, String name) {
        return spark.read().format("delta").load(new LakePaths(lake).table(name));
    }

    /** Job 01 on the shared corpora: row counts per source and the reconciliation. */
    public static PrepareCorpusJob.Result prepare(SparkSession spark, PrepareConfig cfg) {
        PrepareCorpusJob.Result r = PrepareCorpusJob.run(spark, cfg);
        // rows per source, counted independently with Python on the asset files: tinyshakespeare 7222 non-blank
        // "\n\n"-separated pieces, tinystories 5 "<|endoftext|>"-separated stories, self_instruct 175 lines,
        // identity 91 array elements
        assertEquals(7222 + 5 + 175 + 91, r.read());
        long kept = r.count(PrepareCorpusJob.KEPT);
        long quarantined = r.count(PrepareCorpusJob.QUARANTINED);
        assertEquals(
                r.read(),
                kept + quarantined + r.count(PrepareCorpusJob.EXACT_DUP) + r.count(PrepareCorpusJob.NEAR_DUP));
        assertTrue(kept > 7000, "most documents are kept: " + kept);
        assertTrue(r.count(PrepareCorpusJob.EXACT_DUP) > 0, "tinyshakespeare repeats some speeches verbatim");
        assertTrue(r.count(PrepareCorpusJob.NEAR_DUP) > 0, "some identity answers differ in a few characters");
        assertTrue(quarantined > 0, "some speeches are shorter than min_chars 8");
        String lake = cfg.lake.root;
        assertEquals(kept, table(spark, lake, LakePaths.CORPUS_CLEAN).count());
        assertEquals(
                quarantined, table(spark, lake, LakePaths.CORPUS_QUARANTINE).count());
        Row run = table(spark, lake, LakePaths.JOB_RUNS)
                .where("run_id = '" + r.runId() + "'")
                .first();
        assertEquals("succeeded", run.getAs("status"));
        Map<String, Long> recorded = run.getJavaMap(run.fieldIndex("counts"));
        assertEquals(r.read(), recorded.get("rows_read"));
        assertEquals(kept, recorded.get("kept"));
        return r;
    }

    /** Job 02 after job 01: counts, block layout, decode-back and prompt masks against the source files. */
    public static TokenizePackJob.Result tokenize(SparkSession spark, TokenizeConfig cfg, long docs) throws Exception {
        TokenizePackJob.Result r = TokenizePackJob.run(spark, cfg);
        String lake = cfg.lake.root;
        assertEquals(docs, r.count("docs_read"));
        assertEquals(docs, r.count("docs_packed") + r.count("docs_rejected"));
        Dataset<Row> blocks = table(spark, lake, LakePaths.TOKEN_BLOCKS);
        assertEquals(r.count("blocks"), blocks.count());
        assertTrue(r.count("blocks.eval") > 0 && r.count("blocks.train") > r.count("blocks.eval"));
        Row run = table(spark, lake, LakePaths.JOB_RUNS)
                .where("run_id = '" + r.runId() + "'")
                .first();
        Map<String, Long> versions = run.getJavaMap(run.fieldIndex("table_versions"));
        assertEquals(r.tableVersions().get(LakePaths.TOKEN_BLOCKS), versions.get(LakePaths.TOKEN_BLOCKS));

        try (Tokenizer tok = Tokenizer.load(Path.of(cfg.model.tokenizer))) {
            for (Row b : blocks.collectAsList()) checkLayout(b, cfg.pack.blockSize);
            // a TinyStories story: its pieces decode back to the text job 01 stored (itself the source minus nothing:
            // the stories have no PII and no whitespace runs)
            String story = Files.readString(Assets.require("corpora/tinystories_sample.txt"))
                    .split("<\\|endoftext\\|>")[1]
                    .strip();
            Row doc = table(spark, lake, LakePaths.CORPUS_CLEAN)
                    .where(org.apache.spark.sql.functions.col("text").equalTo(story))
                    .first();
            assertEquals(story, tok.decode(docTokens(blocks, doc.getAs("doc_id"), false), true));
            // the first identity row (instruction "hi", output "Hello! I am {{name}}, ...") with the alpaca fallback:
            // masked tokens are exactly the prompt, trained tokens exactly the answer and EOS
            Row hi = table(spark, lake, LakePaths.CORPUS_CLEAN)
                    .where("kind = 'instruction' AND instruction = 'hi'")
                    .first();
            int[] all = docTokens(blocks, hi.getAs("doc_id"), false);
            int[] trained = docTokens(blocks, hi.getAs("doc_id"), true);
            assertEquals(
                    "Hello! I am {{name}}, an AI assistant developed by {{author}}. How can I assist you today?</s>",
                    tok.decode(trained, false));
            assertEquals(
                    "Below is an instruction that describes a task. Write a response that appropriately completes "
                            + "the request.\n\n### Instruction:\nhi\n\n### Response:\nHello! I am {{name}}, an AI assistant "
                            + "developed by {{author}}. How can I assist you today?",
                    tok.decode(all, true));
            assertEquals(2, all[all.length - 1], "ends with EOS (</s> = 2)");
            assertEquals(1, all[0], "starts with BOS (<s> = 1)");
        }
        return r;
    }

    /** Blocks are block_size long; segments contiguous; positions restart per segment; padding never EOS, never trained. */
    static void checkLayout(Row b, int blockSize) {
        List<Integer> ids = b.getList(b.fieldIndex("input_ids"));
        List<Integer> labels = b.getList(b.fieldIndex("labels"));
        List<Integer> pos = b.getList(b.fieldIndex("position_ids"));
        List<Integer> bounds = b.getList(b.fieldIndex("doc_boundaries"));
        List<Row> segs = b.getList(b.fieldIndex("segments"));
        assertEquals(blockSize, ids.size());
        assertEquals(blockSize, labels.size());
        assertEquals(blockSize, pos.size());
        assertEquals(segs.size() + 1, bounds.size());
        int end = 0;
        for (int i = 0; i < segs.size(); i++) {
            Row s = segs.get(i);
            int start = s.getInt(2);
            int len = s.getInt(3);
            assertEquals(end, start);
            assertEquals(start, (int) bounds.get(i));
            for (int j = 0; j < len; j++) assertEquals(j, (int) pos.get(start + j));
            assertEquals(Packing.IGNORE, (int) labels.get(start), "a segment's first token is never a target");
            end = start + len;
        }
        assertEquals(end, (int) bounds.get(segs.size()));
        assertEquals(end, (int) b.getAs("n_tokens"));
        for (int i = end; i < blockSize; i++) {
            assertEquals(0, (int) ids.get(i), "pad is <unk> (0), never EOS (2)");
            assertEquals(Packing.IGNORE, (int) labels.get(i));
        }
        for (int i = 0; i < end; i++) {
            int l = labels.get(i);
            assertTrue(l == Packing.IGNORE || l == ids.get(i), "labels are -100 or the input id");
        }
    }

    /** A document's tokens (or only its trained ones), its pieces in order. */
    static int[] docTokens(Dataset<Row> blocks, String docId, boolean trainedOnly) {
        TreeMap<Integer, int[]> pieces = new TreeMap<>();
        for (Row b : blocks.where(org.apache.spark.sql.functions.array_contains(
                        org.apache.spark.sql.functions.col("segments.doc_id"), docId))
                .collectAsList()) {
            List<Integer> ids = b.getList(b.fieldIndex("input_ids"));
            List<Integer> labels = b.getList(b.fieldIndex("labels"));
            for (Row s : b.<Row>getList(b.fieldIndex("segments"))) {
                if (!s.getString(0).equals(docId)) continue;
                List<Integer> out = new ArrayList<>();
                for (int i = s.getInt(2); i < s.getInt(2) + s.getInt(3); i++) {
                    if (!trainedOnly || labels.get(i) != Packing.IGNORE) out.add(ids.get(i));
                }
                pieces.put(s.getInt(1), out.stream().mapToInt(Integer::intValue).toArray());
            }
        }
        assertTrue(!pieces.isEmpty(), "document " + docId + " is in some block");
        return pieces.values().stream().flatMapToInt(java.util.Arrays::stream).toArray();
    }
}
