package io.lakelora.train;

import io.lakelora.lora.AdapterState;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Single-process LoRA training ({@code train-local}): the {@link TrainingLoop} over {@link LocalGradients}, with
 * checkpoints in a local directory and progress lines for the terminal. A step takes {@code micro_batch *
 * grad_accum} blocks in the {@link DataOrder} of job 03, so this is job 03 with one worker: same settings and blocks,
 * same adapter, bit for bit.
 */
public final class LocalTrainer {
    private final TrainConfig cfg;
    private final TrainableModel model;
    private final float[] initialParams;
    private final TokenBlocks train;
    private final TokenBlocks eval;
    private final Path checkpointDir;
    private final Consumer<String> log;
    private final DataOrder order;
    private long stopAfter = Long.MAX_VALUE;

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
            throw new IllegalArgumentException("initial adapter has " + initialParams.length + " parameters, the "
                    + "model's layout needs " + model.layout().size());
        }
        this.cfg = cfg;
        this.model = model;
        this.initialParams = initialParams;
        this.train = train;
        this.eval = eval;
        this.checkpointDir = checkpointDir;
        this.log = log;
        this.order = new DataOrder(train.size(), cfg.microBatch() * cfg.gradAccum(), cfg.seed());
    }

    /** Return right after step {@code k} as if the process were killed there (no extra checkpoint); for tests. */
    public LocalTrainer stopAfter(long k) {
        this.stopAfter = k;
        return this;
    }

    /** Total optimizer steps: {@code steps}, or floor(epochs * steps per epoch), at least 1 (as job 03). */
    public long totalSteps() {
        if (cfg.steps() > 0) return cfg.steps();
        return Math.max(1, (long) Math.floor(cfg.epochs() * order.stepsPerEpoch()));
    }

    /** The hash a checkpoint must carry to be resumed: config trajectory + training data + the data-order rule. */
    public String runHash() {
        return TrainConfig.sha256(
                cfg.trajectoryHash() + "/" + Long.toHexString(train.fingerprint()) + "/order=" + "DataOrder.v1");
    }

    public TrainingLoop.Result run() {
        long total = totalSteps();
        AdapterState state = new AdapterState(model.layout());
        System.arraycopy(initialParams, 0, state.params(), 0, initialParams.length);
        OptimizerStep opt = new OptimizerStep(
                cfg.optimizer(), cfg.schedule().build(cfg.optimizer().lr(), total));
        TrainingLoop loop = new TrainingLoop(
                new TrainingLoop.Settings(
                        total,
                        cfg.evalInterval(),
                        cfg.checkpointInterval(),
                        true,
                        1,
                        order.globalBatch(),
                        runHash(),
                        "rerun with the same config and data to resume, or use another --out directory (or " + "delete "
                                + checkpointDir + ") to start over"),
                new LocalGradients(model, train, order, cfg.microBatch(), cfg.seed()),
                eval.size() > 0 ? p -> LocalGradients.evaluate(model, eval, cfg.microBatch(), p) : null,
                opt,
                TrainingLoop.localCheckpoints(checkpointDir, cfg.keepCheckpoints()),
                new Lines(total));
        TrainingLoop.Result r = loop.stopAfter(stopAfter).run(state);
        if (!r.interrupted() && r.resumed() && r.resumedFromStep() >= total) {
            log.accept("training already complete at step " + r.resumedFromStep() + " (" + checkpointDir + ")");
        }
        return r;
    }

    /** The terminal's progress lines. */
    private final class Lines implements TrainingLoop.Listener {
        private final long total;
        private long tokens;
        private double seconds;

        Lines(long total) {
            this.total = total;
        }

        @Override
        public void resumed(long step, long total, long tokensSeen, String from) {
            log.accept(String.format(
                    Locale.ROOT, "resuming from %s: step %d of %d, %d tokens seen", from, step, total, tokensSeen));
        }

        @Override
        public void step(StepMetric m, long total, double etaSeconds) {
            tokens += m.tokens();
            seconds += m.stepSeconds();
            if (m.step() % cfg.logInterval() == 0 || m.step() == total) {
                log.accept(String.format(
                        Locale.ROOT,
                        "step %d/%d | loss %.4f | lr %.3e | grad_norm %.4f | %.0f tok/s | eta %s",
                        m.step(),
                        total,
                        m.loss(),
                        m.lr(),
                        m.gradNorm(),
                        tokens / Math.max(seconds, 1e-9),
                        duration(etaSeconds)));
            }
            if (m.tokens() == 0) log.accept("warning: step " + m.step() + " has no target tokens");
        }

        @Override
        public void evaluated(long step, LossSum loss) {
            log.accept(String.format(
                    Locale.ROOT,
                    "eval step %d | loss %.4f | ppl %.2f | %d tokens",
                    step,
                    loss.mean(),
                    Math.exp(loss.mean()),
                    loss.tokens()));
        }

        @Override
        public void checkpointed(long step, String where, List<StepMetric> since) {
            log.accept("checkpoint " + where);
        }
    }

    static String duration(double secs) {
        if (!Double.isFinite(secs)) return "?";
        long s = Math.round(secs);
        if (s >= 3600) return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
        if (s >= 60) return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        return s + "s";
    }
}
