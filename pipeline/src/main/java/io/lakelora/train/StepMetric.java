package io.lakelora.train;

import java.io.Serializable;

/**
 * One optimizer step as the driver saw it: mean train loss, learning rate, gradient norm (before clipping), target
 * tokens, throughput, the step's wall time and the slowest worker's compute time (their difference is Spark's
 * orchestration overhead), and the eval loss when this step evaluated (NaN otherwise).
 */
public record StepMetric(
        long step,
        double loss,
        double lr,
        double gradNorm,
        long tokens,
        double tokensPerSecond,
        double stepSeconds,
        double computeSeconds,
        double evalLoss)
        implements Serializable {

    public double overheadMillis() {
        return Math.max(0, stepSeconds - computeSeconds) * 1000;
    }
}
