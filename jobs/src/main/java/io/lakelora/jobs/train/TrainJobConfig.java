package io.lakelora.jobs.train;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.lakelora.jobs.common.CommonConfig;
import io.lakelora.lora.LoraConfig;
import io.lakelora.quant.QuantType;
import io.lakelora.train.OptimizerConfig;
import io.lakelora.train.ScheduleConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * Job 03's configuration ({@code conf/03_train.yaml}): the shared lake/spark/s3a sections plus model, data, LoRA,
 * optimizer, schedule, the data-parallel settings, the run report and fault injection for tests. The {@code lora},
 * {@code optimizer} and {@code schedule} sections are the engine's (same keys as {@code conf/train_local.yaml}).
 */
public class TrainJobConfig extends CommonConfig {
    private static final long serialVersionUID = 1L;

    @JsonProperty("model")
    public Model model = new Model();

    @JsonProperty("data")
    public Data data = new Data();

    @JsonProperty("lora")
    public LoraConfig lora = LoraConfig.of(8, 16.0, List.of("all-linear"));

    @JsonProperty("optimizer")
    public OptimizerConfig optimizer = OptimizerConfig.defaults();

    @JsonProperty("schedule")
    public ScheduleConfig schedule = ScheduleConfig.defaults();

    @JsonProperty("train")
    public Train train = new Train();

    @JsonProperty("report")
    public Report report = new Report();

    @JsonProperty("faults")
    public Faults faults = new Faults();

    /** The frozen base. */
    public static class Model implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        /**
         * Model directory in HF layout (local path or lake URI), fp32/bf16 or quantized by job 00. Null: the lake
         * copy of {@code id} recorded by job 00 in {@code <lake>/tables/base_models}.
         */
        @JsonProperty("path")
        public String path;
        /**
         * The base model's id: looked up in {@code base_models} when {@code path} is null; recorded as the adapter's
         * base model id (and PEFT's base_model_name_or_path).
         */
        @JsonProperty("id")
        public String id = "stories260K";
        /** nf4 (QLoRA), fp4, int8, or none (fp32 comparison mode). */
        @JsonProperty("quant")
        public String quant = "nf4";
        /** Quantize the 4-bit formats' absmax constants too (bitsandbytes' double quantization; QLoRA's default). */
        @JsonProperty("double_quant")
        public boolean doubleQuant = true;
    }

    /** The model every executor builds: base quantization, the LoRA section, threads, recomputation. */
    public io.lakelora.model.LoraModelBuilder.Spec modelSpec() {
        return new io.lakelora.model.LoraModelBuilder.Spec(
                QuantType.parse(model.quant), model.doubleQuant, lora, train.threadsPerWorker, train.recompute);
    }

    /** The training data: a token_blocks Delta table from job 02. */
    public static class Data implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        /** Table location; null = {@code <lake.root>/tables/token_blocks}. */
        @JsonProperty("table")
        public String table;
        /** Delta version to pin; null = the latest at the start of the run (recorded either way). */
        @JsonProperty("version")
        public Long version;
    }

    /** Data-parallel training settings. */
    public static class Train implements java.io.Serializable {
        private static final long serialVersionUID = 1L;

        @JsonProperty("adapter_name")
        public String adapterName = "stories260k-adapter";
        /** null: derived from the resolved config and data version, so a rerun of the same job resumes/is a no-op. */
        @JsonProperty("run_id")
        public String runId;
        /** Optimizer steps; 0 = {@code epochs} passes over the training blocks. */
        @JsonProperty("steps")
        public long steps = 0;

        @JsonProperty("epochs")
        public double epochs = 1;
        /** Blocks per optimizer step, summed over all workers. */
        @JsonProperty("global_batch_blocks")
        public int globalBatchBlocks = 8;
        /** Alternatively the global batch in tokens (> 0 wins): rounded up to whole blocks of the table's length. */
        @JsonProperty("global_batch_tokens")
        public long globalBatchTokens = 0;
        /** Blocks per forward/backward on a worker (gradient accumulation within a worker). */
        @JsonProperty("micro_batch")
        public int microBatch = 2;
        /** Spark partitions computing gradients each step (one task each). */
        @JsonProperty("workers")
        public int workers = 2;
        /** Kernel threads per task; set spark.task.cpus to the same value on a cluster. */
        /** Kernel threads per task; 0: the task\'s CPUs (spark.task.cpus), read on the executor. */
        @JsonProperty("threads_per_worker")
        public int threadsPerWorker = 0;
        /**
         * every_step: gradients are summed over the workers at every step (exact data parallelism); local_sgd: each
         * worker runs {@code local_steps} optimizer steps on its share, then adapters are averaged (for slow networks).
         */
        @JsonProperty("sync")
        public String sync = "every_step";

        @JsonProperty("local_steps")
        public int localSteps = 4;

        @JsonProperty("eval_interval")
        public long evalInterval = 20;

        @JsonProperty("checkpoint_interval")
        public long checkpointInterval = 20;

        @JsonProperty("keep_checkpoints")
        public int keepCheckpoints = 2;

        @JsonProperty("seed")
        public long seed = 42;
        /** Recompute activations per layer in backward (less memory, ~30% more compute). */
        @JsonProperty("recompute")
        public boolean recompute = false;
    }

    /** The run report written next to the adapter version. */
    public static class Report implements java.io.Serializable {
        private static final long serialVersionUID = 1L;

        @JsonProperty("prompts")
        public List<String> prompts = new ArrayList<>(List.of("Once upon a time", "The king said"));

        @JsonProperty("max_new_tokens")
        public int maxNewTokens = 48;
    }

    /** Fault injection (tests and drills). */
    public static class Faults implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        /** The first attempt of partition 0's task fails at this step (-1 = never); Spark retries it. */
        @JsonProperty("fail_task_at_step")
        public long failTaskAtStep = -1;
    }

    /** Checks values and their combinations; errors name the key and the fix. */
    public void validate() {
        validateCommon();
        QuantType.parse(model.quant);
        if ((model.path == null || model.path.isBlank()) && (model.id == null || model.id.isBlank())) {
            throw new IllegalArgumentException("config keys 'model.path' and 'model.id' are both empty. Fix: set "
                    + "model.id to a base model job 00 put in the lake, or model.path to a model directory in Hugging "
                    + "Face layout (config.json, model.safetensors, tokenizer.json)");
        }
        if (train.adapterName == null || !train.adapterName.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,127}")) {
            throw new IllegalArgumentException("config key 'train.adapter_name' is '" + train.adapterName
                    + "': expected letters, digits, '.', '_' or '-'");
        }
        positive("train.global_batch_blocks", train.globalBatchBlocks);
        if (train.globalBatchTokens < 0) {
            throw new IllegalArgumentException("config key 'train.global_batch_tokens' must be >= 0 (0 = use "
                    + "train.global_batch_blocks), got " + train.globalBatchTokens);
        }
        positive("train.micro_batch", train.microBatch);
        positive("train.workers", train.workers);
        if (train.threadsPerWorker < 0) {
            throw new IllegalArgumentException("config key 'train.threads_per_worker' is " + train.threadsPerWorker
                    + ", expected >= 0 (0: spark.task.cpus)");
        }
        positive("train.keep_checkpoints", train.keepCheckpoints);
        positive("train.local_steps", train.localSteps);
        if (!train.sync.equals("every_step") && !train.sync.equals("local_sgd")) {
            throw new IllegalArgumentException(
                    "config key 'train.sync' is '" + train.sync + "': expected every_step or local_sgd");
        }
        if (train.steps < 0) throw new IllegalArgumentException("config key 'train.steps' must be >= 0");
        if (train.steps == 0 && !(train.epochs > 0)) {
            throw new IllegalArgumentException("config keys 'train.steps' and 'train.epochs' are both 0. Fix: set one");
        }
        if (lora.initKind().rewritesBase()) {
            throw new IllegalArgumentException("config key 'lora.init_lora_weights' = " + lora.initLoraWeights()
                    + " rewrites the base weights, which every executor would have to repeat identically; the Spark "
                    + "job supports true/gaussian. Fix: use train-local for PiSSA/LoftQ, or init_lora_weights: true");
        }
    }

    private static void positive(String key, long v) {
        if (v <= 0) throw new IllegalArgumentException("config key '" + key + "' must be > 0, got " + v);
    }
}
