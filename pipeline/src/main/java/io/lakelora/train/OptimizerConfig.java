package io.lakelora.train;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The {@code optimizer:} section of a training config: AdamW hyper-parameters and global-norm clipping. Defaults are
 * the QLoRA recipe's (qlora.py: lr 2e-4, betas 0.9/0.999, eps 1e-8, no weight decay, max_grad_norm 0.3).
 */
@JsonAutoDetect(
        fieldVisibility = JsonAutoDetect.Visibility.ANY,
        getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE)
public final class OptimizerConfig {
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

    @JsonCreator
    public OptimizerConfig(
            @JsonProperty("lr") Double lr,
            @JsonProperty("betas") List<Double> betas,
            @JsonProperty("eps") Double eps,
            @JsonProperty("weight_decay") Double weightDecay,
            @JsonProperty("max_grad_norm") Double maxGradNorm) {
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
        adamW(); // validates betas, eps, weight_decay
    }

    /** All defaults. */
    public static OptimizerConfig defaults() {
        return new OptimizerConfig(null, null, null, null, null);
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

    public AdamW adamW() {
        return new AdamW(beta1(), beta2(), eps, weightDecay);
    }
}
