package io.lakelora.jobs.runtime;

import java.io.Serializable;

/**
 * What a worker returns for one step: the SUM of adapter gradients of the token losses over its share of the global
 * batch, the loss sum and the number of target tokens. Workers' sums add up; the driver divides by the global token
 * count, so the result does not depend on how the batch was split.
 */
public final class GradSum implements Serializable {
    private static final long serialVersionUID = 1L;
    public final float[] grads;
    public double lossSum;
    public long tokens;
    public int blocks;
    /** The slowest worker's compute time for this step (seconds): step wall time minus this is Spark's overhead. */
    public double maxComputeSeconds;
    /** The workers' compute time summed, and how many workers returned (the mean compute time per task). */
    public double sumComputeSeconds;

    public int tasks;

    public GradSum(int size) {
        this.grads = new float[size];
    }

    /** Adds {@code o} into this (in place) and returns this. */
    public GradSum add(GradSum o) {
        if (o.grads.length != grads.length) {
            throw new IllegalStateException("gradient sizes differ: " + grads.length + " vs " + o.grads.length);
        }
        for (int i = 0; i < grads.length; i++) grads[i] += o.grads[i];
        lossSum += o.lossSum;
        tokens += o.tokens;
        blocks += o.blocks;
        maxComputeSeconds = Math.max(maxComputeSeconds, o.maxComputeSeconds);
        sumComputeSeconds += o.sumComputeSeconds;
        tasks += o.tasks;
        return this;
    }
}
