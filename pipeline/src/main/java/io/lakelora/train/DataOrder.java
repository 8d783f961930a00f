package io.lakelora.train;

import java.io.Serializable;
import java.util.SplittableRandom;

/**
 * The one data order of every training run, in-process ({@code train-local}) or data-parallel (job 03): each epoch is
 * a seeded permutation of the training blocks 0..N-1; step s (global, 0-based) takes the {@code globalBatch} blocks at
 * permutation positions [j*G, (j+1)*G) of epoch s / stepsPerEpoch, j = s % stepsPerEpoch. The last partial batch of
 * an epoch is dropped. The data position is therefore just the step number, which is what checkpoints store.
 *
 * <p>The dropout rule lives here too: a micro-batch's dropout seed is a function of the seed, the step and the
 * permutation position of its first block ({@link #dropoutSeed}), so it does not depend on which worker (or how many)
 * computes it, nor on a generator's state.
 */
public final class DataOrder implements Serializable {
    private static final long serialVersionUID = 1L;
    private final int numBlocks;
    private final int globalBatch;
    private final long seed;

    public DataOrder(int numBlocks, int globalBatch, long seed) {
        if (globalBatch <= 0) throw new IllegalArgumentException("global batch must be > 0 blocks, got " + globalBatch);
        if (numBlocks < globalBatch) {
            throw new IllegalArgumentException("the training split has " + numBlocks + " blocks, fewer than one global "
                    + "batch of " + globalBatch + ". Fix: lower the batch (job 03: train.global_batch_blocks; "
                    + "train-local: micro_batch * grad_accum) or add data");
        }
        this.numBlocks = numBlocks;
        this.globalBatch = globalBatch;
        this.seed = seed;
    }

    public int numBlocks() {
        return numBlocks;
    }

    public int globalBatch() {
        return globalBatch;
    }

    public int stepsPerEpoch() {
        return numBlocks / globalBatch;
    }

    public int epochOf(long step) {
        return (int) (step / stepsPerEpoch());
    }

    /** The epoch's permutation: perm[position] = block index (Fisher-Yates with a per-epoch seed). */
    public int[] permutation(int epoch) {
        int[] perm = new int[numBlocks];
        for (int i = 0; i < numBlocks; i++) perm[i] = i;
        SplittableRandom rnd = new SplittableRandom(seed * 1_000_003L + epoch);
        for (int i = numBlocks - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        return perm;
    }

    /** rank[blockIndex] = position of the block in the epoch's permutation. */
    public int[] ranks(int epoch) {
        int[] perm = permutation(epoch);
        int[] rank = new int[numBlocks];
        for (int p = 0; p < numBlocks; p++) rank[perm[p]] = p;
        return rank;
    }

    /** First permutation position of {@code step}'s batch within its epoch. */
    public int firstRank(long step) {
        return (int) (step % stepsPerEpoch()) * globalBatch;
    }

    /**
     * The dropout seed of a micro-batch of step {@code step} whose first block sits at permutation position
     * {@code firstRank}.
     */
    public static long dropoutSeed(long seed, long step, int firstRank) {
        return seed * 1_000_003L + step * 65_537L + firstRank;
    }
}
