package io.lakelora.train;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The {@code optimizer:} section of a training config: the update rule ({@code type}: {@code adamw}, the default, or
 * {@code adamw8bit}), its hyper-parameters and global-norm clipping. Defaults are the QLoRA recipe's (qlora.py: lr
 * 2e-4, betas 0.9/0.999, eps 1e-8, no weight decay, max_grad_norm 0.3).
 */
@JsonAutoDetect(
        fieldVisibility = JsonAutoDetect.Visibility.ANY,
        getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE)
public final class OptimizerConfig implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    /** The {@code optimizer.type} values, in the order the error message lists them. */
    public static final List<String> TYPES = List.of(AdamW.TYPE, AdamW8bit.TYPE);

    /** Omitted from the JSON when adamw, so adamw runs keep the config and run hashes they had before types. */
    @JsonProperty("type")
    @JsonInclude(value = JsonInclude.Include.CUSTOM, valueFilter = DefaultType.class)
    private final String type;

    @JsonProperty("lr")
    private final double lr;

    @JsonProperty("betas")
    private final List<Double> betas;

    @JsonProperty("eps")
    private final double eps;

    @JsonProperty("weight_decay")
    private final double weightDecay;

    @JsonProperty("max_grad_norm")
    private final double maxGradNorm;

    /** AdamW ({@code type: adamw}) with these settings; {@code null} means the default. */
    public OptimizerConfig(Double lr, List<Double> betas, Double eps, Double weightDecay, Double maxGradNorm) {
        this(null, lr, betas, eps, weightDecay, maxGradNorm);
    }

    @JsonCreator
    public OptimizerConfig(
            @JsonProperty("type") String type,
            @JsonProperty("lr") Double lr,
            @JsonProperty("betas") List<Double> betas,
            @JsonProperty("eps") Double eps,
            @JsonProperty("weight_decay") Double weightDecay,
            @JsonProperty("max_grad_norm") Double maxGradNorm) {
        this.type = type == null ? AdamW.TYPE : type;
        if (!TYPES.contains(this.type)) {
            throw new IllegalArgumentException("optimizer.type '" + this.type + "' is not known. Fix: one of "
                    + String.join(", ", TYPES) + " (e.g. type: adamw8bit for 8-bit block-wise Adam states)");
        }
        this.lr = lr == null ? 2e-4 : lr;
        this.betas = betas == null ? List.of(0.9, 0.999) : List.copyOf(betas);
        this.eps = eps == null ? 1e-8 : eps;
        this.weightDecay = weightDecay == null ? 0.0 : weightDecay;
        this.maxGradNorm = maxGradNorm == null ? 0.3 : maxGradNorm;
        if (!(this.lr > 0) || Double.isInfinite(this.lr)) {
            throw new IllegalArgumentException("optimizer.lr must be > 0, got " + this.lr + ". Fix: e.g. lr: 2.0e-4");
        }
        if (this.betas.size() != 2) {
            throw new IllegalArgumentException("optimizer.betas must be two numbers [beta1, beta2], got " + this.betas);
        }
        if (!(this.maxGradNorm >= 0)) {
            throw new IllegalArgumentException(
                    "optimizer.max_grad_norm must be >= 0 (0 = no clipping), got " + this.maxGradNorm);
        }
        build(); // validates betas, eps, weight_decay
    }

    /** All defaults. */
    public static OptimizerConfig defaults() {
        return new OptimizerConfig(null, null, null, null, null, null);
    }

    /** The update rule's name: {@code adamw} or {@code adamw8bit}. */
    public String type() {
        return type;
    }

    public double lr() {
        return lr;
    }

    public double beta1() {
        return betas.get(0);
    }

    public double beta2() {
        return betas.get(1);
    }

    public double eps() {
        return eps;
    }

    public double weightDecay() {
        return weightDecay;
    }

    public double maxGradNorm() {
        return maxGradNorm;
    }

    /** The update rule this section configures. */
    public Optimizer build() {
        return switch (type) {
            case AdamW.TYPE -> new AdamW(beta1(), beta2(), eps, weightDecay);
            case AdamW8bit.TYPE -> new AdamW8bit(beta1(), beta2(), eps, weightDecay);
            default -> throw new IllegalStateException("unvalidated optimizer.type " + type);
        };
    }

    /** Jackson's filter for {@code type}: true (leave out) for the default. */
    static final class DefaultType {
        @Override
        public boolean equals(Object o) {
            return AdamW.TYPE.equals(o);
        }

        @Override
        public int hashCode() {
            return AdamW.TYPE.hashCode();
        }
    }
}
