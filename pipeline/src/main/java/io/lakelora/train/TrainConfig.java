package io.lakelora.train;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.config.ConfigLoader;
import io.lakelora.lora.LoraConfig;
import io.lakelora.quant.QuantType;
import java.nio.file.Path;
import java.util.List;

/**
 * The typed configuration of a LoRA training run ({@code conf/train_local.yaml} and the Spark training job), loaded
 * with {@link ConfigLoader}: unknown keys and wrong types are errors, every value is validated here.
 *
 * <p>Keys: {@code lora} ({@link LoraConfig}), {@code optimizer} ({@link OptimizerConfig}), {@code schedule}
 * ({@link ScheduleConfig}), {@code steps} (optimizer steps; 0 = {@code epochs} passes over the training blocks),
 * {@code epochs}, {@code micro_batch} (blocks per forward/backward), {@code grad_accum} (micro-batches per step),
 * {@code block_size} (tokens per block), {@code eval_interval} (steps between eval-loss reports, 0 = only at the
 * start and end), {@code eval_fraction} (share of blocks held out), {@code checkpoint_interval} (steps between
 * checkpoints, 0 = only at the end), {@code keep_checkpoints}, {@code log_interval}, {@code seed}, {@code quant}
 * ({@code none} | {@code nf4}), {@code double_quant}, {@code threads} (0 = all cores).
 */
@JsonAutoDetect(
        fieldVisibility = JsonAutoDetect.Visibility.ANY,
        getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE)
public final class TrainConfig {
    @JsonProperty("lora")
    private final LoraConfig lora;

    @JsonProperty("optimizer")
    private final OptimizerConfig optimizer;

    @JsonProperty("schedule")
    private final ScheduleConfig schedule;

    @JsonProperty("steps")
    private final long steps;

    @JsonProperty("epochs")
    private final double epochs;

    @JsonProperty("micro_batch")
    private final int microBatch;

    @JsonProperty("grad_accum")
    private final int gradAccum;

    @JsonProperty("block_size")
    private final int blockSize;

    @JsonProperty("eval_interval")
    private final long evalInterval;

    @JsonProperty("eval_fraction")
    private final double evalFraction;

    @JsonProperty("checkpoint_interval")
    private final long checkpointInterval;

    @JsonProperty("keep_checkpoints")
    private final int keepCheckpoints;

    @JsonProperty("log_interval")
    private final long logInterval;

    @JsonProperty("seed")
    private final long seed;

    @JsonProperty("quant")
    private final String quant;

    @JsonProperty("double_quant")
    private final boolean doubleQuant;

    @JsonProperty("threads")
    private final int threads;

    @JsonCreator
    public TrainConfig(
            @JsonProperty("lora") LoraConfig lora,
            @JsonProperty("optimizer") OptimizerConfig optimizer,
            @JsonProperty("schedule") ScheduleConfig schedule,
            @JsonProperty("steps") Long steps,
            @JsonProperty("epochs") Double epochs,
            @JsonProperty("micro_batch") Integer microBatch,
            @JsonProperty("grad_accum") Integer gradAccum,
            @JsonProperty("block_size") Integer blockSize,
            @JsonProperty("eval_interval") Long evalInterval,
            @JsonProperty("eval_fraction") Double evalFraction,
            @JsonProperty("checkpoint_interval") Long checkpointInterval,
            @JsonProperty("keep_checkpoints") Integer keepCheckpoints,
            @JsonProperty("log_interval") Long logInterval,
            @JsonProperty("seed") Long seed,
            @JsonProperty("quant") String quant,
            @JsonProperty("double_quant") Boolean doubleQuant,
            @JsonProperty("threads") Integer threads) {
        this.lora = lora == null ? new LoraConfig(null, null, null, null, null, null, null, null) : lora;
        this.optimizer = optimizer == null ? OptimizerConfig.defaults() : optimizer;
        this.schedule = schedule == null ? ScheduleConfig.defaults() : schedule;
        this.steps = steps == null ? 0 : steps;
        this.epochs = epochs == null ? 1.0 : epochs;
        this.microBatch = microBatch == null ? 4 : microBatch;
        this.gradAccum = gradAccum == null ? 4 : gradAccum;
        this.blockSize = blockSize == null ? 512 : blockSize;
        this.evalInterval = evalInterval == null ? 50 : evalInterval;
        this.evalFraction = evalFraction == null ? 0.05 : evalFraction;
        this.checkpointInterval = checkpointInterval == null ? 100 : checkpointInterval;
        this.keepCheckpoints = keepCheckpoints == null ? 2 : keepCheckpoints;
        this.logInterval = logInterval == null ? 1 : logInterval;
        this.seed = seed == null ? 42 : seed;
        this.quant = quant == null ? "nf4" : quant;
        this.doubleQuant = doubleQuant == null || doubleQuant;
        this.threads = threads == null ? 0 : threads;

        positive("micro_batch", this.microBatch);
        positive("grad_accum", this.gradAccum);
        if (this.blockSize < 2) {
            throw new IllegalArgumentException(
                    "block_size must be >= 2 tokens (one input predicts the next), got " + this.blockSize);
        }
        nonNegative("steps", this.steps);
        nonNegative("eval_interval", this.evalInterval);
        nonNegative("checkpoint_interval", this.checkpointInterval);
        nonNegative("threads", this.threads);
        positive("log_interval", this.logInterval);
        positive("keep_checkpoints", this.keepCheckpoints);
        if (this.steps == 0 && !(this.epochs > 0)) {
            throw new IllegalArgumentException("either steps > 0 or epochs > 0 is needed, got steps=0, epochs="
                    + this.epochs + ". Fix: set steps: 100 or epochs: 1");
        }
        if (!(this.evalFraction >= 0 && this.evalFraction < 1)) {
            throw new IllegalArgumentException("eval_fraction must be in [0, 1), got " + this.evalFraction);
        }
        QuantType q = QuantType.parse(this.quant);
        if (q != QuantType.NONE && q != QuantType.NF4) {
            throw new IllegalArgumentException("quant '" + this.quant + "' is not a training base format: expected "
                    + "none (fp32 base) or nf4 (QLoRA)");
        }
    }

    private static void positive(String key, long v) {
        if (v <= 0) throw new IllegalArgumentException(key + " must be > 0, got " + v);
    }

    private static void nonNegative(String key, long v) {
        if (v < 0) throw new IllegalArgumentException(key + " must be >= 0, got " + v);
    }

    /** Loads {@code files} (layered, may be empty: all defaults) plus {@code key=value} overrides. */
    public static TrainConfig load(List<Path> files, List<String> overrides) {
        return ConfigLoader.load(files, overrides, TrainConfig.class);
    }

    public LoraConfig lora() {
        return lora;
    }

    public OptimizerConfig optimizer() {
        return optimizer;
    }

    public ScheduleConfig schedule() {
        return schedule;
    }

    public long steps() {
        return steps;
    }

    public double epochs() {
        return epochs;
    }

    public int microBatch() {
        return microBatch;
    }

    public int gradAccum() {
        return gradAccum;
    }

    public int blockSize() {
        return blockSize;
    }

    public long evalInterval() {
        return evalInterval;
    }

    public double evalFraction() {
        return evalFraction;
    }

    public long checkpointInterval() {
        return checkpointInterval;
    }

    public int keepCheckpoints() {
        return keepCheckpoints;
    }

    public long logInterval() {
        return logInterval;
    }

    public long seed() {
        return seed;
    }

    public QuantType quant() {
        return QuantType.parse(quant);
    }

    public boolean doubleQuant() {
        return doubleQuant;
    }

    public int threads() {
        return threads;
    }

    /** The resolved config as pretty JSON (printed at start, stored beside the adapter). */
    public String toJson() {
        return ConfigLoader.toJson(this);
    }

    /**
     * SHA-256 of the settings that determine the training trajectory (everything except bookkeeping: intervals,
     * checkpoints kept, threads). A checkpoint written under another hash is not resumed.
     */
    public String trajectoryHash() {
        ObjectMapper om = new ObjectMapper();
        ObjectNode tree = (ObjectNode) om.valueToTree(this);
        for (String k :
                List.of("eval_interval", "checkpoint_interval", "keep_checkpoints", "log_interval", "threads")) {
            tree.remove(k);
        }
        return sha256(canonical(tree));
    }

    private static String canonical(JsonNode n) {
        if (n.isObject()) {
            StringBuilder sb = new StringBuilder("{");
            java.util.List<String> names = new java.util.ArrayList<>();
            n.fieldNames().forEachRemaining(names::add);
            java.util.Collections.sort(names);
            for (String k : names)
                sb.append('"')
                        .append(k)
                        .append("\":")
                        .append(canonical(n.get(k)))
                        .append(',');
            return sb.append('}').toString();
        }
        if (n.isArray()) {
            StringBuilder sb = new StringBuilder("[");
            for (JsonNode x : n) sb.append(canonical(x)).append(',');
            return sb.append(']').toString();
        }
        return n.toString();
    }

    static String sha256(String s) {
        return io.lakelora.util.Hashes.sha256Hex(s);
    }
}
