package io.lakelora.jobs.runtime;

import java.io.Serializable;
import java.util.SplittableRandom;

/**
 * The deterministic order of blocks: each epoch is a seeded permutation of 0..N-1; step s (global, 0-based) takes the
 * {@code globalBatch} blocks at permutation positions [j*G, (j+1)*G) of epoch s / stepsPerEpoch, j = s % stepsPerEpoch.
 * The last partial batch of an epoch is dropped. Data position is therefore just the step number, which is what
 * checkpoints store.
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
                    + "batch of " + globalBatch + ". Fix: lower train.global_batch_blocks or add data");
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

    /** rank[blockIndex] = position of the block in the epoch's permutation (Fisher-Yates with a per-epoch seed). */
    public int[] ranks(int epoch) {
        int[] perm = new int[numBlocks];
        for (int i = 0; i < numBlocks; i++) perm[i] = i;
        SplittableRandom rnd = new SplittableRandom(seed * 1_000_003L + epoch);
        for (int i = numBlocks - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        int[] rank = new int[numBlocks];
        for (int p = 0; p < numBlocks; p++) rank[perm[p]] = p;
        return rank;
    }

    /** First permutation position of {@code step}'s batch within its epoch. */
    public int firstRank(long step) {
        return (int) (step % stepsPerEpoch()) * globalBatch;
    }
}
