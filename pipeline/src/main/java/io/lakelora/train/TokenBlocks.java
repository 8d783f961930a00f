package io.lakelora.train;

import io.lakelora.util.Rng;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Documents packed into fixed-length blocks of T tokens: the documents are concatenated and cut every T tokens.
 * Position ids restart at 0 where a document (or a block's first fragment) starts, so the model's RoPE and its
 * block-diagonal causal mask keep documents apart ({@link Batch}); the label of every document-start token is -100
 * (nothing before it in the same document predicts it). The last block is padded (id {@code padId}, label -100).
 */
public final class TokenBlocks {
    private final int blockSize;
    private final int[][] ids;
    private final int[][] labels;
    private final int[][] positions;

    private TokenBlocks(int blockSize, int[][] ids, int[][] labels, int[][] positions) {
        this.blockSize = blockSize;
        this.ids = ids;
        this.labels = labels;
        this.positions = positions;
    }

    /** Packs {@code docs} into blocks of {@code blockSize}; {@code padId} fills the end of the last block. */
    public static TokenBlocks pack(List<Document> docs, int blockSize, int padId) {
        if (blockSize < 2) throw new IllegalArgumentException("block_size must be >= 2, got " + blockSize);
        long total = 0;
        for (Document d : docs) total += d.length();
        int n = Math.toIntExact((total + blockSize - 1) / blockSize);
        int[][] ids = new int[n][blockSize];
        int[][] labels = new int[n][blockSize];
        int[][] pos = new int[n][blockSize];
        long g = 0;
        for (Document d : docs) {
            for (int i = 0; i < d.length(); i++, g++) {
                int b = (int) (g / blockSize);
                int t = (int) (g % blockSize);
                boolean start = i == 0 || t == 0;
                ids[b][t] = d.ids()[i];
                pos[b][t] = start ? 0 : pos[b][t - 1] + 1;
                labels[b][t] = start ? Batch.IGNORE_INDEX : d.labels()[i];
            }
        }
        boolean firstPad = true;
        for (; g < (long) n * blockSize; g++) { // padding: its own "document", never trained
            int b = (int) (g / blockSize);
            int t = (int) (g % blockSize);
            ids[b][t] = padId;
            labels[b][t] = Batch.IGNORE_INDEX;
            pos[b][t] = firstPad || t == 0 ? 0 : pos[b][t - 1] + 1;
            firstPad = false;
        }
        return new TokenBlocks(blockSize, ids, labels, pos);
    }

    public int blockSize() {
        return blockSize;
    }

    /** Number of blocks. */
    public int size() {
        return ids.length;
    }

    public int[] ids(int block) {
        return ids[block];
    }

    public int[] labels(int block) {
        return labels[block];
    }

    public int[] positions(int block) {
        return positions[block];
    }

    /** Trained (shifted) target tokens over all blocks. */
    public long targetTokens() {
        long n = 0;
        for (int[] l : labels) for (int t = 1; t < l.length; t++) if (l[t] != Batch.IGNORE_INDEX) n++;
        return n;
    }

    /** The blocks at {@code indices} as one batch (arrays shared, not copied: callers must not modify them). */
    public Batch batch(int[] indices) {
        int[][] bi = new int[indices.length][];
        int[][] bl = new int[indices.length][];
        int[][] bp = new int[indices.length][];
        for (int k = 0; k < indices.length; k++) {
            bi[k] = ids[indices[k]];
            bl[k] = labels[indices[k]];
            bp[k] = positions[indices[k]];
        }
        return new Batch(bi, bl, bp);
    }

    /**
     * A deterministic train/eval split: blocks are shuffled with {@code seed}, the first ceil(fraction * n) go to eval
     * (at least one when fraction > 0 and there are two or more blocks), the rest, in original order, to train.
     * Returns {train, eval}; eval is empty when fraction is 0.
     */
    public TokenBlocks[] split(double fraction, long seed) {
        int n = size();
        int evalN = fraction <= 0 || n < 2 ? 0 : (int) Math.min(n - 1, Math.max(1, Math.ceil(fraction * n)));
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) perm[i] = i;
        Rng.derive(seed, "eval-split").shuffle(perm);
        boolean[] isEval = new boolean[n];
        for (int i = 0; i < evalN; i++) isEval[perm[i]] = true;
        List<Integer> tr = new ArrayList<>();
        List<Integer> ev = new ArrayList<>();
        for (int i = 0; i < n; i++) (isEval[i] ? ev : tr).add(i);
        return new TokenBlocks[] {subset(tr), subset(ev)};
    }

    private TokenBlocks subset(List<Integer> idx) {
        int[][] i2 = new int[idx.size()][];
        int[][] l2 = new int[idx.size()][];
        int[][] p2 = new int[idx.size()][];
        for (int k = 0; k < idx.size(); k++) {
            i2[k] = ids[idx.get(k)];
            l2[k] = labels[idx.get(k)];
            p2[k] = positions[idx.get(k)];
        }
        return new TokenBlocks(blockSize, i2, l2, p2);
    }

    /** CRC32C over every block's ids, labels and positions: identifies the data a checkpoint was trained on. */
    public long fingerprint() {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(blockSize * 4);
        for (int[][] table : new int[][][] {ids, labels, positions}) {
            for (int[] row : table) {
                buf.clear();
                buf.asIntBuffer().put(row);
                crc.update(buf.array(), 0, blockSize * 4);
            }
        }
        return crc.getValue() ^ ((long) size() << 32);
    }

    @Override
    public String toString() {
        return "TokenBlocks{" + size() + " x " + blockSize + ", first ids "
                + (size() == 0 ? "[]" : Arrays.toString(Arrays.copyOf(ids[0], Math.min(8, blockSize)))) + "}";
    }
}
