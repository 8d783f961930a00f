package io.lakelora.jobs.evaluate;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.lakelora.jobs.common.CommonConfig;
import io.lakelora.quant.QuantType;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/** Config of job 05 evaluate ({@code conf/05_evaluate.yaml}). */
public class EvaluateConfig extends CommonConfig {
    private static final long serialVersionUID = 1L;

    /** The version to evaluate: {@code name@3}, {@code name@production} (an alias), {@code name} or {@code name@latest}. */
    @JsonProperty("adapter")
    public String adapter;

    @JsonProperty("model")
    public Model model = new Model();

    @JsonProperty("data")
    public Data data = new Data();

    @JsonProperty("eval")
    public Eval eval = new Eval();

    @JsonProperty("samples")
    public Samples samples = new Samples();

    @JsonProperty("report")
    public Report report = new Report();

    /** The frozen base the adapter was trained on. */
    public static class Model implements Serializable {
        private static final long serialVersionUID = 1L;
        /** Model directory (local path or lake URI), fp32/bf16 or quantized by job 00; read on every executor. */
        @JsonProperty("path")
        public String path;
        /** nf4, fp4 or none; a model quantized by job 00 is used as stored and must say the same. */
        @JsonProperty("quant")
        public String quant = "nf4";
        /** Fail unless the model's sha256 is the base recorded with the adapter version. */
        @JsonProperty("check_base")
        public boolean checkBase = true;
    }

    /** The evaluation blocks: a token_blocks Delta table from job 02. */
    public static class Data implements Serializable {
        private static final long serialVersionUID = 1L;
        /** Table name in the lake ({@code token_blocks}) or location; null: the table recorded with the version. */
        @JsonProperty("table")
        public String table;
        /** Delta version to read; null: the version recorded with the adapter (else the latest). */
        @JsonProperty("version")
        public Long version;
        /** Value of the table's {@code split} column to evaluate on. */
        @JsonProperty("split")
        public String split = "eval";
        /** At most this many blocks (the first by block_id); 0: all. */
        @JsonProperty("max_blocks")
        public int maxBlocks = 0;
    }

    /** The distributed loss computation. */
    public static class Eval implements Serializable {
        private static final long serialVersionUID = 1L;
        /** Spark partitions (tasks) the blocks are spread over. */
        @JsonProperty("workers")
        public int workers = 2;
        /** Blocks per forward pass on a worker. */
        @JsonProperty("micro_batch")
        public int microBatch = 4;
        /** Kernel threads per task; set spark.task.cpus to the same value on a cluster. */
        /** Kernel threads per task; 0: the task\'s CPUs (spark.task.cpus), read on the executor. */
        @JsonProperty("threads_per_worker")
        public int threadsPerWorker = 0;
    }

    /** Sample generations of the base and of the adapter, on the driver. */
    public static class Samples implements Serializable {
        private static final long serialVersionUID = 1L;
        /** Prompts, encoded with the model's special tokens (BOS) and continued greedily. */
        @JsonProperty("prompts")
        public List<String> prompts = new ArrayList<>(List.of("Once upon a time", "The king said"));

        @JsonProperty("max_new_tokens")
        public int maxNewTokens = 48;
    }

    /** Where the evaluation report goes. */
    public static class Report implements Serializable {
        private static final long serialVersionUID = 1L;
        /** Directory (local path or lake URI); null: {@code <lake.root>/adapters/<name>/v<version>/evaluation}. */
        @JsonProperty("out")
        public String out;
    }

    public void validate() {
        validateCommon();
        if (adapter == null || adapter.isBlank()) {
            throw new IllegalArgumentException("config key 'adapter' is empty. Fix: name the version to evaluate, e.g. "
                    + "adapter=stories260k-shakespeare@latest, adapter=NAME@3 or adapter=NAME@production");
        }
        try {
            QuantType.parse(model.quant);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("config key 'model.quant': " + e.getMessage(), e);
        }
        if (data.split == null || data.split.isBlank()) {
            throw new IllegalArgumentException("config key 'data.split' is empty. Fix: data.split=eval");
        }
        if (data.version != null && data.version < 0) {
            throw new IllegalArgumentException(
                    "config key 'data.version' is " + data.version + ", expected a Delta " + "version >= 0 or null");
        }
        if (data.maxBlocks < 0)
            throw new IllegalArgumentException("config key 'data.max_blocks' must be >= 0 (0 = all)");
        positive("eval.workers", eval.workers);
        positive("eval.micro_batch", eval.microBatch);
        if (eval.threadsPerWorker < 0) {
            throw new IllegalArgumentException("config key 'eval.threads_per_worker' is " + eval.threadsPerWorker
                    + ", expected >= 0 (0: spark.task.cpus)");
        }
        if (samples.maxNewTokens < 0) {
            throw new IllegalArgumentException("config key 'samples.max_new_tokens' must be >= 0");
        }
        if (samples.prompts == null) samples.prompts = new ArrayList<>();
        for (int i = 0; i < samples.prompts.size(); i++) {
            if (samples.prompts.get(i) == null || samples.prompts.get(i).isEmpty()) {
                throw new IllegalArgumentException("config key 'samples.prompts[" + i + "]' is empty");
            }
        }
    }

    private static void positive(String key, int v) {
        if (v <= 0) throw new IllegalArgumentException("config key '" + key + "' must be > 0, got " + v);
    }
}
