package io.lakelora.train;

import io.lakelora.lora.AdapterState;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The one training loop of LakeLoRA, for {@code train-local} and job 03 alike: start from the initialised adapter or
 * resume from the newest checkpoint (refusing one written by another run), then per optimizer step ask a
 * {@link GradientSource} for the step's summed gradients, apply the {@link OptimizerStep}, report the step, evaluate
 * and checkpoint at their intervals (and at the end). What computes the gradients is the only difference between the
 * two: in-process micro-batches ({@link LocalGradients}) or the Spark data-parallel step.
 *
 * <p>Determinism: which blocks form a step and each micro-batch's dropout seed are functions of the seed and the step
 * ({@link DataOrder}); the learning rate is a function of the step. A checkpoint therefore holds the adapter, the
 * optimizer's slabs, the step and the token count, and a resumed run ends bit-identical to an uninterrupted one.
 */
public final class TrainingLoop {
    /** The summed gradients (or, for a local-SGD round, the summed losses) of one step or round. */
    public record Gradients(double lossSum, long tokens, double computeSeconds) {}

    /** Computes a step's gradients. */
    public interface GradientSource {
        /**
         * Sums the adapter gradients of the global step {@code step} (0-based) at {@code params} into {@code grads}
         * (all zero on entry); returns the loss and target-token sums.
         */
        Gradients gradients(long step, float[] params, float[] grads);

        /**
         * Local SGD: runs {@code k} optimizer steps from {@code step} on every worker's share and leaves the
         * averaged adapter and optimizer state in {@code state} and {@code opt} (the step counter is set by the
         * loop). Only data-parallel sources support it.
         */
        default Gradients localRound(long step, int k, AdapterState state, OptimizerState opt) {
            throw new UnsupportedOperationException("local SGD needs a data-parallel gradient source");
        }
    }

    /** A checkpoint read back: its progress record and where it came from. */
    public record Restored(Checkpoint.Progress progress, String from) {}

    /** Checkpoints in a local directory ({@link Checkpoint#save}, keeping the newest {@code keepLast}). */
    public static Checkpoints localCheckpoints(java.nio.file.Path dir, int keepLast) {
        return new Checkpoints() {
            @Override
            public Optional<Restored> loadLatest(AdapterState into, OptimizerState opt) {
                return Checkpoint.latest(dir).map(f -> new Restored(Checkpoint.read(f, into, opt), f.toString()));
            }

            @Override
            public String save(AdapterState s, OptimizerState opt, Checkpoint.Progress progress) {
                return Checkpoint.save(dir, s, opt, progress, keepLast).toString();
            }

            @Override
            public String location() {
                return dir.toString();
            }
        };
    }

    /** Where checkpoints live: a local directory or the lake. */
    public interface Checkpoints {
        /** Loads the newest checkpoint into {@code into} and {@code opt}; empty when there is none. */
        Optional<Restored> loadLatest(AdapterState into, OptimizerState opt);

        /** Saves the state at its current step; returns where it went. */
        String save(AdapterState s, OptimizerState opt, Checkpoint.Progress progress);

        /** The directory, for messages. */
        String location();
    }

    /** Progress callbacks; the front ends format them (stderr lines, SLF4J, a metrics table). */
    public interface Listener {
        default void resumed(long step, long total, long tokensSeen, String from) {}

        default void step(StepMetric m, long total, double etaSeconds) {}

        default void evaluated(long step, LossSum loss) {}

        /** After a checkpoint: its location and the metrics of the steps since the previous one. */
        default void checkpointed(long step, String where, List<StepMetric> since) {}
    }

    /**
     * Loop settings.
     *
     * @param evalInterval       steps between evaluations (0: only at the end); always at the last step
     * @param checkpointInterval steps between checkpoints (0: only at the end)
     * @param evalAtStart        also evaluate the initial adapter of a fresh run (step 0)
     * @param localSteps         1: synchronous steps; k > 1: local-SGD rounds of k steps
     * @param globalBatch        blocks per step (the data position a checkpoint records is step * globalBatch)
     * @param runHash            identifies the run's trajectory: a checkpoint carrying another hash is refused
     * @param mismatchFix        the fix the refusal names
     */
    public record Settings(
            long totalSteps,
            long evalInterval,
            long checkpointInterval,
            boolean evalAtStart,
            int localSteps,
            int globalBatch,
            String runHash,
            String mismatchFix) {
        public Settings {
            if (totalSteps < 1) throw new IllegalArgumentException("total steps must be >= 1, got " + totalSteps);
            if (localSteps < 1) throw new IllegalArgumentException("local steps must be >= 1, got " + localSteps);
        }
    }

    /** One evaluation: mean loss (nats per target token) over the eval blocks after {@code step} steps. */
    public record EvalPoint(long step, double loss, long tokens) {}

    /** The outcome of {@link #run}. */
    public record Result(
            AdapterState state,
            OptimizerState optimizerState,
            long totalSteps,
            boolean resumed,
            long resumedFromStep,
            boolean interrupted,
            double lastTrainLoss,
            long tokensSeen,
            List<EvalPoint> evals,
            List<StepMetric> metrics,
            double wallSeconds) {
        /** The first and last eval losses (NaN when there was no eval set). */
        public double firstEval() {
            return evals.isEmpty() ? Double.NaN : evals.get(0).loss();
        }

        public double lastEval() {
            return evals.isEmpty() ? Double.NaN : evals.get(evals.size() - 1).loss();
        }
    }

    private final Settings settings;
    private final GradientSource source;
    private final Function<float[], LossSum> evaluator;
    private final OptimizerStep optimizer;
    private final Checkpoints checkpoints;
    private final Listener listener;
    private long stopAfter = Long.MAX_VALUE;

    /** @param evaluator the eval loss of an adapter over the eval blocks; null when there are none */
    public TrainingLoop(
            Settings settings,
            GradientSource source,
            Function<float[], LossSum> evaluator,
            OptimizerStep optimizer,
            Checkpoints checkpoints,
            Listener listener) {
        this.settings = settings;
        this.source = source;
        this.evaluator = evaluator;
        this.optimizer = optimizer;
        this.checkpoints = checkpoints;
        this.listener = listener;
    }

    /** Return right after step {@code k} as if the process were killed there (no extra checkpoint); for tests. */
    public TrainingLoop stopAfter(long k) {
        this.stopAfter = k;
        return this;
    }

    /** True when a multiple of {@code interval} lies in (from, to]: a local-SGD round may jump several steps. */
    static boolean crossed(long from, long to, long interval) {
        return interval > 0 && to / interval > from / interval;
    }

    /**
     * Trains {@code state} (the initialised adapter at step 0; overwritten by a checkpoint when resuming) to the total
     * step count.
     */
    public Result run(AdapterState state) {
        long t0 = System.nanoTime();
        long total = settings.totalSteps();
        OptimizerState optState = optimizer.newState(state);
        Optional<Restored> latest = checkpoints.loadLatest(state, optState);
        boolean resumed = latest.isPresent();
        long tokensSeen = 0;
        if (resumed) {
            Checkpoint.Progress p = latest.get().progress();
            if (!p.configHash().equals(settings.runHash())) {
                throw new IllegalArgumentException("checkpoint " + latest.get().from() + " was written by a run"
                        + " with other settings or data (run hash " + shortHash(p.configHash()) + ", this run "
                        + shortHash(settings.runHash()) + "). Fix: " + settings.mismatchFix());
            }
            tokensSeen = p.tokensSeen();
            listener.resumed(state.step(), total, tokensSeen, latest.get().from());
        }
        long resumedFrom = state.step();
        List<EvalPoint> evals = new ArrayList<>();
        if (!resumed && settings.evalAtStart() && evaluator != null) evals.add(evaluate(state, 0));
        List<StepMetric> all = new ArrayList<>();
        List<StepMetric> pending = new ArrayList<>();
        double lastLoss = Double.NaN;
        long loopStart = System.nanoTime();
        boolean interrupted = false;
        while (state.step() < total) {
            long s = state.step();
            long ts = System.nanoTime();
            Gradients g;
            double lr;
            double gradNorm;
            if (settings.localSteps() > 1) {
                int k = (int) Math.min(settings.localSteps(), total - s);
                g = source.localRound(s, k, state, optState);
                state.setStep(s + k);
                lr = optimizer.schedule().lr(s + k - 1);
                gradNorm = Double.NaN;
            } else {
                g = source.gradients(s, state.params(), state.grads());
                OptimizerStep.StepResult r = optimizer.step(state, optState, g.tokens());
                lr = r.lr();
                gradNorm = r.gradNorm();
            }
            double stepSec = (System.nanoTime() - ts) / 1e9;
            long step = state.step();
            tokensSeen += g.tokens();
            lastLoss = g.tokens() == 0 ? Double.NaN : g.lossSum() / g.tokens();
            boolean last = step == total;
            double ev = Double.NaN;
            if (evaluator != null && (crossed(s, step, settings.evalInterval()) || last)) {
                EvalPoint e = evaluate(state, step);
                evals.add(e);
                ev = e.loss();
            }
            StepMetric m = new StepMetric(
                    step, lastLoss, lr, gradNorm, g.tokens(), g.tokens() / stepSec, stepSec, g.computeSeconds(), ev);
            all.add(m);
            pending.add(m);
            double eta = (System.nanoTime() - loopStart) / 1e9 / (step - resumedFrom) * (total - step);
            listener.step(m, total, eta);
            if (crossed(s, step, settings.checkpointInterval()) || last) {
                String where = checkpoints.save(
                        state,
                        optState,
                        new Checkpoint.Progress(
                                0L, step * (long) settings.globalBatch(), tokensSeen, settings.runHash()));
                listener.checkpointed(step, where, List.copyOf(pending));
                pending.clear();
            }
            if (step >= stopAfter && step < total) {
                interrupted = true;
                break;
            }
        }
        if (!interrupted && evaluator != null && evals.isEmpty()) evals.add(evaluate(state, state.step()));
        return new Result(
                state,
                optState,
                total,
                resumed,
                resumedFrom,
                interrupted,
                lastLoss,
                tokensSeen,
                evals,
                all,
                (System.nanoTime() - t0) / 1e9);
    }

    private EvalPoint evaluate(AdapterState state, long step) {
        LossSum sum = evaluator.apply(state.params());
        listener.evaluated(step, sum);
        return new EvalPoint(step, sum.mean(), sum.tokens());
    }

    private static String shortHash(String h) {
        return h.length() > 12 ? h.substring(0, 12) : h;
    }
}
