package io.lakelora.jobs.train;

import io.lakelora.jobs.runtime.DataParallelStep;
import io.lakelora.jobs.runtime.GradSum;
import io.lakelora.jobs.runtime.ModelFactory;
import io.lakelora.jobs.runtime.TokenBlock;
import io.lakelora.lora.AdapterState;
import io.lakelora.train.Checkpoint;
import io.lakelora.train.LossSum;
import io.lakelora.train.OptimizerState;
import io.lakelora.train.OptimizerStep;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The driver loop of data-parallel QLoRA: per step, {@link DataParallelStep} sums adapter gradients over the workers,
 * the driver divides by the global token count and applies the configured optimizer ({@link OptimizerStep}); every
 * {@code evalInterval} steps the eval split is scored; every {@code checkpointInterval} steps (and at the end) the
 * adapter, the optimizer's state slabs,
 * step and data position go to the lake. Started again with the same checkpoint directory it resumes from the last
 * checkpoint and ends with the adapter an uninterrupted run would have produced (the data order is a function of the
 * seed and the step).
 */
public final class SparkTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(SparkTrainer.class);

    /**
     * Loop settings. {@code localSteps} > 1 selects local SGD: workers run that many optimizer steps on their own share
     * and the driver averages adapters and moments ({@code localOptimizer} is then required).
     */
    public record Settings(
            String runId,
            long totalSteps,
            long evalInterval,
            long checkpointInterval,
            long seed,
            int evalMicroBatch,
            String configHash,
            int localSteps,
            DataParallelStep.OptimizerSpec localOptimizer) {
        public Settings(
                String runId,
                long totalSteps,
                long evalInterval,
                long checkpointInterval,
                long seed,
                int evalMicroBatch,
                String configHash) {
            this(runId, totalSteps, evalInterval, checkpointInterval, seed, evalMicroBatch, configHash, 1, null);
        }
    }

    /** The outcome of a run. */
    public record Result(
            AdapterState state,
            OptimizerState optimizerState,
            List<StepMetric> metrics,
            double lastTrainLoss,
            double evalLoss,
            long tokens,
            double wallSeconds,
            long resumedFromStep) {}

    private final JavaSparkContext jsc;
    private final DataParallelStep dp;
    private final JavaRDD<TokenBlock> evalBlocks;
    private final ModelFactory<?> factory;
    private final OptimizerStep optimizer;
    private final Settings settings;
    private final CheckpointStore checkpoints;
    private final Consumer<List<StepMetric>> metricsSink;

    /**
     * @param evalBlocks may be null (no evaluation)
     * @param metricsSink receives the metrics of the steps since the last call, at every checkpoint and at the end
     */
    public SparkTrainer(
            JavaSparkContext jsc,
            DataParallelStep dp,
            JavaRDD<TokenBlock> evalBlocks,
            ModelFactory<?> factory,
            OptimizerStep optimizer,
            Settings settings,
            CheckpointStore checkpoints,
            Consumer<List<StepMetric>> metricsSink) {
        this.jsc = jsc;
        this.dp = dp;
        this.evalBlocks = evalBlocks;
        this.factory = factory;
        this.optimizer = optimizer;
        this.settings = settings;
        this.checkpoints = checkpoints;
        this.metricsSink = metricsSink;
    }

    /** True when a multiple of {@code interval} lies in (from, to]: a local-SGD round may jump several steps. */
    static boolean crossed(long from, long to, long interval) {
        return to / interval > from / interval;
    }

    /** Trains {@code state} (initialised adapter, step 0) to {@code totalSteps}, resuming from a checkpoint if any. */
    public Result run(AdapterState state) {
        long t0 = System.nanoTime();
        OptimizerState optState = optimizer.newState(state);
        Optional<Checkpoint.Progress> resumed = checkpoints.loadLatest(state, optState);
        long resumedFrom = 0;
        long tokensSeen = 0;
        if (resumed.isPresent()) {
            Checkpoint.Progress p = resumed.get();
            if (!p.configHash().equals(settings.configHash())) {
                throw new IllegalArgumentException("checkpoint in " + checkpoints.dir() + " was written by a run with "
                        + "another training config (hash " + p.configHash() + " vs " + settings.configHash()
                        + "). Fix: "
                        + "use a new train.run_id for the new config, or delete the old checkpoints");
            }
            resumedFrom = state.step();
            tokensSeen = p.tokensSeen();
            LOG.info(
                    "[lakelora] resuming run {} from checkpoint at step {} ({})",
                    settings.runId(),
                    resumedFrom,
                    checkpoints.dir());
        }
        List<StepMetric> all = new ArrayList<>();
        List<StepMetric> pending = new ArrayList<>();
        double lastLoss = Double.NaN;
        double evalLoss = Double.NaN;
        long total = settings.totalSteps();
        long loopStart = System.nanoTime();
        long startStep = state.step();
        while (state.step() < total) {
            long s = state.step();
            jsc.setJobDescription("lakelora train " + settings.runId() + " step " + (s + 1) + "/" + total);
            long ts = System.nanoTime();
            long gTokens;
            double computeSec;
            double lr;
            double gradNorm;
            if (settings.localSteps() > 1) {
                int k = (int) Math.min(settings.localSteps(), total - s);
                DataParallelStep.LocalResult lr0 =
                        dp.computeLocal(s, k, state.params(), optState, settings.localOptimizer(), settings.seed());
                System.arraycopy(lr0.params, 0, state.params(), 0, lr0.params.length);
                state.setStep(s + k);
                gTokens = lr0.tokens;
                computeSec = lr0.maxComputeSeconds;
                lastLoss = gTokens == 0 ? Double.NaN : lr0.lossSum / gTokens;
                lr = optimizer.schedule().lr(s + k - 1);
                gradNorm = Double.NaN;
            } else {
                GradSum g = dp.compute(s, state.params(), settings.seed());
                System.arraycopy(g.grads, 0, state.grads(), 0, g.grads.length);
                OptimizerStep.StepResult r = optimizer.step(state, optState, g.tokens);
                gTokens = g.tokens;
                computeSec = g.maxComputeSeconds;
                lastLoss = g.tokens == 0 ? Double.NaN : g.lossSum / g.tokens;
                lr = r.lr();
                gradNorm = r.gradNorm();
            }
            double stepSec = (System.nanoTime() - ts) / 1e9;
            tokensSeen += gTokens;
            double ev = Double.NaN;
            boolean last = state.step() == total;
            if (evalBlocks != null
                    && settings.evalInterval() > 0
                    && (crossed(s, state.step(), settings.evalInterval()) || last)) {
                jsc.setJobDescription("lakelora eval " + settings.runId() + " at step " + state.step());
                LossSum e =
                        DataParallelStep.evaluate(jsc, evalBlocks, factory, state.params(), settings.evalMicroBatch());
                ev = e.mean();
                evalLoss = ev;
            }
            StepMetric m = new StepMetric(
                    state.step(), lastLoss, lr, gradNorm, gTokens, gTokens / stepSec, stepSec, computeSec, ev);
            all.add(m);
            pending.add(m);
            double done = state.step() - startStep;
            double eta = (System.nanoTime() - loopStart) / 1e9 / done * (total - state.step());
            LOG.info(String.format(
                    "[lakelora] step %d/%d loss %.4f lr %.3e tokens/s %.0f overhead %.0f ms ETA %.0fs%s",
                    state.step(),
                    total,
                    lastLoss,
                    lr,
                    m.tokensPerSecond(),
                    m.overheadMillis(),
                    eta,
                    Double.isNaN(ev) ? "" : String.format(" eval_loss %.4f", ev)));
            if ((settings.checkpointInterval() > 0 && crossed(s, state.step(), settings.checkpointInterval()))
                    || last) {
                checkpoints.save(
                        state,
                        optState,
                        new Checkpoint.Progress(
                                0L, state.step() * (long) dp.globalBatch(), tokensSeen, settings.configHash()));
                metricsSink.accept(List.copyOf(pending));
                pending.clear();
            }
        }
        if (!pending.isEmpty()) metricsSink.accept(List.copyOf(pending));
        if (evalBlocks != null && Double.isNaN(evalLoss)) {
            evalLoss = DataParallelStep.evaluate(jsc, evalBlocks, factory, state.params(), settings.evalMicroBatch())
                    .mean();
        }
        return new Result(
                state, optState, all, lastLoss, evalLoss, tokensSeen, (System.nanoTime() - t0) / 1e9, resumedFrom);
    }
}
