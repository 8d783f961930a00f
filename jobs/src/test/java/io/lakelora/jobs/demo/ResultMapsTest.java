package io.lakelora.jobs.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lakelora.jobs.evaluate.EvaluateJob;
import io.lakelora.jobs.prepare.PrepareCorpusJob;
import io.lakelora.jobs.quantize.QuantizeBaseJob;
import io.lakelora.jobs.registry.AdapterDiff;
import io.lakelora.jobs.runtime.AdapterExport;
import io.lakelora.jobs.runtime.QuantizedModelMarker;
import io.lakelora.jobs.tokenize.TokenizePackJob;
import io.lakelora.jobs.train.TrainJob;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The maps the job commands print (and notebooks, the Airflow DAG and {@code evaluation.json} read): every key, its
 * value and the key order, written out by hand from what each command printed before {@code Fields} built them (run
 * against the hand-written {@code asMap}s, these expectations passed but for the two moves below). Derived keys
 * without a component of their own now follow the components: evaluate's perplexity, base_perplexity and
 * improvement_nats (before: after eval_loss and base_eval_loss), quantize-base's quant (before: after sha256).
 */
class ResultMapsTest {

    @Test
    void train() {
        var o = new TrainJob.Outcome(
                "bot",
                3,
                true,
                "run-1",
                "file:/lake/registry",
                "file:/lake/tables/token_blocks",
                7,
                "file:/peft",
                "file:/report",
                "file:/ckpt",
                "file:/metrics",
                1.25,
                1.5,
                40,
                81920,
                12.5,
                20);
        assertOrdered(
                ordered(
                        "adapter", "bot@3",
                        "created", true,
                        "run_id", "run-1",
                        "registry", "file:/lake/registry",
                        "dataset", "file:/lake/tables/token_blocks@v7",
                        "peft_path", "file:/peft",
                        "report", "file:/report",
                        "checkpoints", "file:/ckpt",
                        "metrics_table", "file:/metrics",
                        "train_loss", 1.25,
                        "eval_loss", 1.5,
                        "steps", 40L,
                        "tokens", 81920L,
                        "wall_seconds", 12.5,
                        "resumed_from_step", 20L),
                o.asMap());
    }

    @Test
    void evaluate() {
        var r = new EvaluateJob.Result(
                "bot@3",
                3,
                "file:/lake/tables/token_blocks",
                7,
                10,
                2560,
                2.0,
                2.5,
                List.of(new EvaluateJob.Sample("Once", " upon", " a time")),
                "file:/lake/reports/bot/3");
        Map<String, Object> m = r.asMap();
        assertOrdered(
                ordered(
                        "adapter",
                        "bot@3",
                        "version",
                        3,
                        "dataset_table",
                        "file:/lake/tables/token_blocks",
                        "dataset_version",
                        7L,
                        "blocks",
                        10L,
                        "tokens",
                        2560L,
                        "eval_loss",
                        2.0,
                        "base_eval_loss",
                        2.5,
                        "samples",
                        List.of(ordered("prompt", "Once", "base", " upon", "adapter", " a time")),
                        "report",
                        "file:/lake/reports/bot/3",
                        "perplexity",
                        7.38905609893065, // e^2
                        "base_perplexity",
                        12.182493960703473, // e^2.5
                        "improvement_nats",
                        0.5),
                m);
    }

    @Test
    void quantizeBase() {
        var marker = new QuantizedModelMarker(
                1,
                "stories",
                "file:/src",
                "aa11",
                "bb22",
                "nf4",
                64,
                true,
                4.127,
                1000,
                300,
                List.of("model.safetensors"),
                Map.of("config.json", "10:20"),
                "2026-01-01T00:00:00Z");
        assertOrdered(
                ordered(
                        "run_id", "run-0",
                        "status", "quantized",
                        "output", "file:/lake/models/stories-nf4",
                        "model_id", "stories",
                        "source", "file:/src",
                        "source_sha256", "aa11",
                        "sha256", "bb22",
                        "bits_per_param", 4.127,
                        "source_bytes", 1000L,
                        "output_bytes", 300L,
                        "quant", "nf4 blocksize 64 double-quant",
                        "seconds", 3.5),
                new QuantizeBaseJob.Result("run-0", true, "file:/lake/models/stories-nf4", marker, 3.4567).asMap());
        assertEquals(
                "unchanged",
                new QuantizeBaseJob.Result("run-0", false, "o", marker, 0)
                        .asMap()
                        .get("status"));
    }

    @Test
    void prepareAndTokenize() {
        Map<String, Long> counts = new TreeMap<>(Map.of("rows_read", 5L, "clean", 4L));
        Map<String, Long> details = Map.of("too_short", 1L);
        Map<String, Long> versions = Map.of("corpus_clean", 2L);
        assertOrdered(
                ordered(
                        "run_id", "r1",
                        "status", "succeeded",
                        "counts", counts,
                        "details", details,
                        "table_versions", versions),
                new PrepareCorpusJob.Result("r1", "succeeded", counts, details, versions).asMap());
        assertOrdered(
                ordered("run_id", "r2", "status", "nothing_new", "counts", counts, "table_versions", versions),
                new TokenizePackJob.Result("r2", "nothing_new", counts, versions).asMap());
    }

    @Test
    void export() {
        assertOrdered(
                ordered(
                        "adapter", "bot",
                        "version", 3,
                        "status", "exported",
                        "dir", "file:/out",
                        "adapter_model_sha256", "cc33",
                        "adapter_model_bytes", 4096L),
                new AdapterExport.Result("bot", 3, true, "file:/out", "cc33", 4096).asMap());
        assertEquals(
                "unchanged",
                new AdapterExport.Result("bot", 3, false, "d", "s", 1).asMap().get("status"));
    }

    @Test
    void diffNorms() {
        assertOrdered(
                ordered("module", "q_proj", "norm_a", 2.0, "norm_b", 3.0, "norm_diff", 1.0, "relative_diff", 0.5),
                new AdapterDiff.Norms("q_proj", 2, 3, 1).asMap());
        assertEquals(
                Double.NaN, new AdapterDiff.Norms("k_proj", 0, 3, 3).asMap().get("relative_diff"));
    }

    @Test
    void demo() {
        Map<String, Object> q = ordered("status", "quantized");
        Map<String, Object> t = ordered("adapter", "bot@1");
        assertOrdered(
                ordered(
                        "00_quantize_base", q,
                        "01_prepare_corpus", ordered("status", "p"),
                        "02_tokenize_pack", ordered("status", "t"),
                        "03_train", t,
                        "04_export", ordered("status", "e"),
                        "05_evaluate", ordered("adapter", "bot@1", "eval_loss", 2.0)),
                new DemoPipeline.Outcome(
                                q,
                                ordered("status", "p"),
                                ordered("status", "t"),
                                t,
                                ordered("status", "e"),
                                ordered("adapter", "bot@1", "eval_loss", 2.0))
                        .asMap());
    }

    /** Equal entries in the same order. */
    private static void assertOrdered(Map<String, Object> expected, Map<String, Object> actual) {
        assertEquals(new ArrayList<>(expected.entrySet()), new ArrayList<>(actual.entrySet()));
    }

    private static Map<String, Object> ordered(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }
}
