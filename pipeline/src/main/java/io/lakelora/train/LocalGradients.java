package io.lakelora.train;

/**
 * The in-process gradient source: step s's blocks ({@link DataOrder}) through {@link TrainableModel#forwardBackward}
 * in micro-batches of {@code microBatch} blocks, in permutation order, each with the dropout seed of its first block's
 * position. This is what one worker of job 03 computes when it holds all the blocks, in the same order, so
 * {@code train-local} and job 03 on one worker produce the same adapter bit for bit.
 */
public final class LocalGradients implements TrainingLoop.GradientSource {
    private final TrainableModel model;
    private final TokenBlocks blocks;
    private final DataOrder order;
    private final int microBatch;
    private final long seed;
    private int[] perm;
    private int permEpoch = -1;

    public LocalGradients(TrainableModel model, TokenBlocks blocks, DataOrder order, int microBatch, long seed) {
        if (microBatch <= 0) throw new IllegalArgumentException("micro_batch must be > 0, got " + microBatch);
        if (blocks.size() != order.numBlocks()) {
            throw new IllegalArgumentException(
                    "data order is over " + order.numBlocks() + " blocks, the data has " + blocks.size());
        }
        this.model = model;
        this.blocks = blocks;
        this.order = order;
        this.microBatch = microBatch;
        this.seed = seed;
    }

    @Override
    public TrainingLoop.Gradients gradients(long step, float[] params, float[] grads) {
        int epoch = order.epochOf(step);
        if (epoch != permEpoch) {
            perm = order.permutation(epoch);
            permEpoch = epoch;
        }
        long t0 = System.nanoTime();
        int lo = order.firstRank(step);
        int hi = lo + order.globalBatch();
        LossSum sum = LossSum.ZERO;
        for (int r = lo; r < hi; r += microBatch) {
            int[] idx = new int[Math.min(microBatch, hi - r)];
            for (int k = 0; k < idx.length; k++) idx[k] = perm[r + k];
            sum = sum.plus(
                    model.forwardBackward(params, grads, blocks.batch(idx), DataOrder.dropoutSeed(seed, step, r)));
        }
        return new TrainingLoop.Gradients(sum.lossSum(), sum.tokens(), (System.nanoTime() - t0) / 1e9);
    }

    /** Loss sum and token count of {@code params} over {@code eval} in index order (dropout off). */
    public static LossSum evaluate(TrainableModel model, TokenBlocks eval, int microBatch, float[] params) {
        LossSum sum = LossSum.ZERO;
        for (int start = 0; start < eval.size(); start += microBatch) {
            int[] idx = new int[Math.min(microBatch, eval.size() - start)];
            for (int k = 0; k < idx.length; k++) idx[k] = start + k;
            sum = sum.plus(model.evaluate(params, eval.batch(idx)));
        }
        return sum;
    }
}
