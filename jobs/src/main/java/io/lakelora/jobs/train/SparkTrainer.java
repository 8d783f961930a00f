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
import io.lakelora.train.StepMetric;
import io.lakelora.train.TrainingLoop;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The driver of data-parallel QLoRA: the engine's {@link TrainingLoop} (the loop {@code train-local} runs too) with
 * {@link DataParallelStep} as its gradient source: per step the workers sum adapter gradients, the driver divides by
 * the global token count and applies the configured optimizer ({@link OptimizerStep}); every {@code evalInterval}
 * steps the eval split is scored on the executors; every {@code checkpointInterval} steps (and at the end) the adapter,
 * the optimizer's state slabs, step and data position go to the lake. Started again with the same checkpoint directory
 * it resumes from the last checkpoint and ends with the adapter an uninterrupted run would have produced.
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

    /** Trains {@code state} (initialised adapter, step 0) to {@code totalSteps}, resuming from a checkpoint if any. */
    public Result run(AdapterState state) {
        long total = settings.totalSteps();
        TrainingLoop loop = new TrainingLoop(
                new TrainingLoop.Settings(
                        total,
                        settings.evalInterval(),
                        settings.checkpointInterval(),
                        false,
                        settings.localSteps(),
                        dp.globalBatch(),
                        settings.configHash(),
                        "use a new train.run_id for the new config, or delete the old checkpoints"),
                new Source(total),
                evalBlocks == null ? null : this::evaluate,
                optimizer,
                new LakeCheckpoints(),
                new Log(total));
        TrainingLoop.Result r = loop.run(state);
        return new Result(
                r.state(),
                r.optimizerState(),
                r.metrics(),
                r.lastTrainLoss(),
                r.lastEval(),
                r.tokensSeen(),
                r.wallSeconds(),
                r.resumedFromStep());
    }

    private LossSum evaluate(float[] params) {
        jsc.setJobDescription("lakelora eval " + settings.runId());
        return DataParallelStep.evaluate(jsc, evalBlocks, factory, params, settings.evalMicroBatch());
    }

    /** The data-parallel step as the loop's gradient source. */
    private final class Source implements TrainingLoop.GradientSource {
        private final long total;

        Source(long total) {
            this.total = total;
        }

        @Override
        public TrainingLoop.Gradients gradients(long step, float[] params, float[] grads) {
            jsc.setJobDescription("lakelora train " + settings.runId() + " step " + (step + 1) + "/" + total);
            GradSum g = dp.compute(step, params, settings.seed());
            System.arraycopy(g.grads, 0, grads, 0, g.grads.length);
            return new TrainingLoop.Gradients(g.lossSum, g.tokens, g.maxComputeSeconds);
        }

        @Override
        public TrainingLoop.Gradients localRound(long step, int k, AdapterState state, OptimizerState opt) {
            jsc.setJobDescription(
                    "lakelora train " + settings.runId() + " steps " + (step + 1) + ".." + (step + k) + "/" + total);
            DataParallelStep.LocalResult lr =
                    dp.computeLocal(step, k, state.params(), opt, settings.localOptimizer(), settings.seed());
            System.arraycopy(lr.params, 0, state.params(), 0, lr.params.length);
            return new TrainingLoop.Gradients(lr.lossSum, lr.tokens, lr.maxComputeSeconds);
        }
    }

    /** The lake checkpoint store as the loop's checkpoints. */
    private final class LakeCheckpoints implements TrainingLoop.Checkpoints {
        @Override
        public Optional<TrainingLoop.Restored> loadLatest(AdapterState into, OptimizerState opt) {
            return checkpoints.loadLatest(into, opt).map(p -> new TrainingLoop.Restored(p, checkpoints.dir()));
        }

        @Override
        public String save(AdapterState s, OptimizerState opt, Checkpoint.Progress progress) {
            return checkpoints.save(s, opt, progress);
        }

        @Override
        public String location() {
            return checkpoints.dir();
        }
    }

    /** Driver log lines, and the metrics table at every checkpoint. */
    private final class Log implements TrainingLoop.Listener {
        private final long total;

        Log(long total) {
            this.total = total;
        }

        @Override
        public void resumed(long step, long total, long tokensSeen, String from) {
            LOG.info("[lakelora] resuming run {} from checkpoint at step {} ({})", settings.runId(), step, from);
        }

        @Override
        public void step(StepMetric m, long total, double etaSeconds) {
            LOG.info(String.format(
                    "[lakelora] step %d/%d loss %.4f lr %.3e tokens/s %.0f overhead %.0f ms ETA %.0fs%s",
                    m.step(),
                    total,
                    m.loss(),
                    m.lr(),
                    m.tokensPerSecond(),
                    m.overheadMillis(),
                    etaSeconds,
                    Double.isNaN(m.evalLoss()) ? "" : String.format(" eval_loss %.4f", m.evalLoss())));
        }

        @Override
        public void checkpointed(long step, String where, List<StepMetric> since) {
            metricsSink.accept(since);
        }
    }
}
