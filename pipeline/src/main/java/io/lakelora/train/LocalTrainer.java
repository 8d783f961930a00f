package io.lakelora.train;

import io.lakelora.lora.AdapterState;
import io.lakelora.util.Rng;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Single-process LoRA training: start from the initialised adapter (or resume from the newest checkpoint), then for each optimizer step run
 * {@code grad_accum} micro-batches of {@code micro_batch} blocks through {@link TrainableModel#forwardBackward}, take
 * one {@link OptimizerStep} on the summed gradients, report progress, evaluate every {@code eval_interval} steps and
 * checkpoint every {@code checkpoint_interval} steps.
 *
 * <p>Determinism: the block order is a fixed function of the seed (a seeded shuffle per epoch over a continuous stream
 * of blocks), the dropout seed of each micro-batch is drawn from a generator whose state is checkpointed, and the
 * learning rate is a function of the step. A run resumed from a checkpoint therefore continues exactly where an
 * uninterrupted run would have been: the same seed and data give bit-identical adapters, interrupted or not.
 */
public final class LocalTrainer {
    private final TrainConfig cfg;
    private final TrainableModel model;
    private final float[] initialParams;
    private final TokenBlocks train;
    private final TokenBlocks eval;
    private final Path checkpointDir;
    private final Consumer<String> log;
    private long stopAfter = Long.MAX_VALUE;

    /** One evaluation: mean loss (nats per target token) over the eval blocks after {@code step} steps. */
    public record EvalPoint(long step, double loss, long tokens) {}

    /** The outcome of {@link #run()}. */
    public record Result(
            AdapterState state,
            OptimizerState optimizerState,
            long totalSteps,
            boolean resumed,
            long resumedFromStep,
            boolean interrupted,
            double lastTrainLoss,
            long tokensSeen,
            List<EvalPoint> evals) {
        /** The first and last eval losses (NaN when there was no eval set). */
        public double firstEval() {
            return evals.isEmpty() ? Double.NaN : evals.get(0).loss();
        }

        public double lastEval() {
            return evals.isEmpty() ? Double.NaN : evals.get(evals.size() - 1).loss();
        }
    }

    /**
     * @param model         the base model with LoRA; for PiSSA/LoftQ its base already holds the rewritten weights
     * @param initialParams the initialised adapter ({@link io.lakelora.lora.LoraInit}), used when there is no
     *                      checkpoint to resume (not modified)
     * @param checkpointDir where checkpoints are written and resumed from
     * @param log           progress lines (the CLI prints them to stderr)
     */
    public LocalTrainer(
            TrainConfig cfg,
            TrainableModel model,
            float[] initialParams,
            TokenBlocks train,
            TokenBlocks eval,
            Path checkpointDir,
            Consumer<String> log) {
        if (train.size() == 0) {
            throw new IllegalArgumentException("no training blocks: the data is empty or all held out for eval");
        }
        if (train.blockSize() != cfg.blockSize()) {
            throw new IllegalArgumentException(
                    "blocks have " + train.blockSize() + " tokens, config block_size is " + cfg.blockSize());
        }
        if (initialParams.length != model.layout().size()) {
            throw new IllegalArgumentException(
                    "initial adapter has " + initialParams.length + " parameters, the model's " + "layout needs "
                            + model.layout().size());
        }
        this.cfg = cfg;
        this.model = model;
        this.initialParams = initialParams;
        this.train = train;
        this.eval = eval;
        this.checkpointDir = checkpointDir;
        this.log = log;
    }

    /** Return right after step {@code k} as if the process were killed there (no extra checkpoint); for tests. */
    public LocalTrainer stopAfter(long k) {
        this.stopAfter = k;
        return this;
    }

    /** Total optimizer steps: {@code steps}, or ceil(epochs * blocks / (micro_batch * grad_accum)). */
    public long totalSteps() {
        if (cfg.steps() > 0) return cfg.steps();
        double perStep = (double) cfg.microBatch() * cfg.gradAccum();
        return Math.max(1, (long) Math.ceil(cfg.epochs() * train.size() / perStep));
    }

    /** The hash a checkpoint must carry to be resumed: config trajectory + training data. */
    public String runHash() {
        return TrainConfig.sha256(cfg.trajectoryHash() + "/" + Long.toHexString(train.fingerprint()));
    }

    public Result run() {
        AdapterState state = new AdapterState(model.layout());
        String hash = runHash();
        long total = totalSteps();
        OptimizerStep opt = new OptimizerStep(
                cfg.optimizer(), cfg.schedule().build(cfg.optimizer().lr(), total));
        OptimizerState optState = opt.newState(state);
        Optional<Path> latest = Checkpoint.latest(checkpointDir);
        Checkpoint.Progress progress;
        boolean resumed = latest.isPresent();
        if (resumed) {
            progress = Checkpoint.read(latest.get(), state, optState);
            if (!progress.configHash().equals(hash)) {
                throw new IllegalArgumentException("checkpoint " + latest.get() + " was written by a run with other "
                        + "settings or data (run hash " + shortHash(progress.configHash()) + ", this run "
                        + shortHash(hash) + "). Fix: rerun with the same config and data to resume, or use another "
                        + "--out directory (or delete " + checkpointDir + ") to start over");
            }
            log.accept(String.format(
                    Locale.ROOT,
                    "resuming from %s: step %d of %d, %d tokens seen",
                    latest.get(),
                    state.step(),
                    total,
                    progress.tokensSeen()));
        } else {
            System.arraycopy(initialParams, 0, state.params(), 0, initialParams.length);
            progress = new Checkpoint.Progress(Rng.derive(cfg.seed(), "dropout").state(), 0, 0, hash);
        }
        long resumedFrom = state.step();
        Rng dropout = new Rng(progress.rngState());
        BlockStream stream = new BlockStream(train, cfg.seed());
        long position = progress.dataPosition();
        long tokensSeen = progress.tokensSeen();
        List<EvalPoint> evals = new ArrayList<>();
        if (!resumed && eval.size() > 0) evals.add(evaluate(state, 0));

        double lastLoss = Double.NaN;
        long t0 = System.nanoTime();
        long tokensAtStart = tokensSeen;
        long stepsAtStart = state.step();
        boolean interrupted = false;
        while (state.step() < total) {
            LossSum sum = LossSum.ZERO;
            for (int micro = 0; micro < cfg.gradAccum(); micro++) {
                int[] idx = new int[cfg.microBatch()];
                for (int k = 0; k < idx.length; k++) idx[k] = stream.blockAt(position++);
                sum = sum.plus(
                        model.forwardBackward(state.params(), state.grads(), train.batch(idx), dropout.nextLong()));
            }
            if (sum.tokens() == 0) log.accept("warning: step " + (state.step() + 1) + " has no target tokens");
            OptimizerStep.StepResult r = opt.step(state, optState, sum.tokens());
            tokensSeen += sum.tokens();
            lastLoss = sum.mean();
            long step = r.step();
            if (step % cfg.logInterval() == 0 || step == total) {
                double secs = (System.nanoTime() - t0) / 1e9;
                double tokPerSec = (tokensSeen - tokensAtStart) / Math.max(secs, 1e-9);
                double eta = secs / (step - stepsAtStart) * (total - step);
                log.accept(String.format(
                        Locale.ROOT,
                        "step %d/%d | loss %.4f | lr %.3e | grad_norm %.4f | %.0f tok/s " + "| eta %s",
                        step,
                        total,
                        lastLoss,
                        r.lr(),
                        r.gradNorm(),
                        tokPerSec,
                        duration(eta)));
            }
            if (eval.size() > 0 && ((cfg.evalInterval() > 0 && step % cfg.evalInterval() == 0) || step == total)) {
                evals.add(evaluate(state, step));
            }
            if ((cfg.checkpointInterval() > 0 && step % cfg.checkpointInterval() == 0) || step == total) {
                Path f = Checkpoint.save(
                        checkpointDir,
                        state,
                        optState,
                        new Checkpoint.Progress(dropout.state(), position, tokensSeen, hash),
                        cfg.keepCheckpoints());
                log.accept("checkpoint " + f);
            }
            if (step >= stopAfter && step < total) {
                interrupted = true;
                break;
            }
        }
        if (!interrupted && resumed && resumedFrom >= total) {
            log.accept("training already complete at step " + resumedFrom + " (" + latest.get() + ")");
        }
        return new Result(state, optState, total, resumed, resumedFrom, interrupted, lastLoss, tokensSeen, evals);
    }

    private EvalPoint evaluate(AdapterState state, long step) {
        LossSum sum = LossSum.ZERO;
        int mb = cfg.microBatch();
        for (int start = 0; start < eval.size(); start += mb) {
            int[] idx = new int[Math.min(mb, eval.size() - start)];
            for (int k = 0; k < idx.length; k++) idx[k] = start + k;
            sum = sum.plus(model.evaluate(state.params(), eval.batch(idx)));
        }
        log.accept(String.format(
                Locale.ROOT,
                "eval step %d | loss %.4f | ppl %.2f | %d tokens",
                step,
                sum.mean(),
                Math.exp(sum.mean()),
                sum.tokens()));
        return new EvalPoint(step, sum.mean(), sum.tokens());
    }

    private static String shortHash(String h) {
        return h.length() > 12 ? h.substring(0, 12) : h;
    }

    static String duration(double secs) {
        if (!Double.isFinite(secs)) return "?";
        long s = Math.round(secs);
        if (s >= 3600) return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
        if (s >= 60) return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        return s + "s";
    }

    /** The training blocks as one endless stream: epoch e is a seeded shuffle of all blocks. */
    static final class BlockStream {
        private final int n;
        private final long seed;
        private long cachedEpoch = -1;
        private int[] perm;

        BlockStream(TokenBlocks blocks, long seed) {
            this.n = blocks.size();
            this.seed = seed;
        }

        int blockAt(long position) {
            long epoch = position / n;
            if (epoch != cachedEpoch) {
                perm = new int[n];
                for (int i = 0; i < n; i++) perm[i] = i;
                Rng.derive(seed, "epoch-" + epoch).shuffle(perm);
                cachedEpoch = epoch;
            }
            return perm[(int) (position % n)];
        }
    }
}
