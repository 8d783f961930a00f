package io.lakelora.train;

import io.lakelora.lora.AdapterState;

/**
 * One optimizer step over the adapter slabs, on gradients that hold SUMS of token-loss gradients (as
 * {@link TrainableModel#forwardBackward} accumulates them, over micro-batches and executors): divide by the global
 * number of target tokens (the mean-token loss, HF's {@code num_items_in_batch} normalisation), clip to the global
 * norm, apply the configured {@link Optimizer} at the scheduled rate, zero the gradients, count the step.
 */
public final class OptimizerStep {
    private final Optimizer optimizer;
    private final LrSchedule schedule;
    private final double maxGradNorm;

    public OptimizerStep(OptimizerConfig cfg, LrSchedule schedule) {
        this.optimizer = cfg.build();
        this.schedule = schedule;
        this.maxGradNorm = cfg.maxGradNorm();
    }

    /** What a step did: the 1-based step number, the rate used and the gradient norm before clipping. */
    public record StepResult(long step, double lr, double gradNorm) {}

    public LrSchedule schedule() {
        return schedule;
    }

    /** The update rule (it declares the state slabs). */
    public Optimizer optimizer() {
        return optimizer;
    }

    /** A zero optimizer state for {@code s}'s adapter. */
    public OptimizerState newState(AdapterState s) {
        return optimizer.newState(s.layout());
    }

    /**
     * Applies one update to {@code s} and {@code state} from {@code s.grads()} (summed over {@code targetTokens}
     * tokens). With zero target tokens the gradient is zero (the step still decays weights and moments, and counts).
     */
    public StepResult step(AdapterState s, OptimizerState state, long targetTokens) {
        if (targetTokens < 0)
            throw new IllegalArgumentException("target token count must be >= 0, got " + targetTokens);
        if (!state.type().equals(optimizer.type())) {
            throw new IllegalArgumentException("optimizer state is " + state.type() + ", the optimizer is "
                    + optimizer.type() + ". Fix: resume with the optimizer.type the run started with");
        }
        float[] g = s.grads();
        if (targetTokens == 0) {
            java.util.Arrays.fill(g, 0f);
        } else if (targetTokens != 1) {
            double n = targetTokens;
            for (int i = 0; i < g.length; i++) g[i] = (float) (g[i] / n);
        }
        double norm = GradClip.clip(g, maxGradNorm);
        long t = s.step();
        double lr = schedule.lr(t);
        optimizer.update(s.params(), g, state, t + 1, lr);
        s.zeroGrads();
        s.setStep(t + 1);
        return new StepResult(t + 1, lr, norm);
    }
}
