package io.lakelora.train;

/**
 * A micro-batch of B sequences of T tokens. {@code labels} are aligned with {@code inputIds} (Hugging Face convention:
 * the model shifts them inside, position t predicts labels[t+1]); -100 = ignored. {@code positionIds} may be null
 * (positions 0..T-1); when given (packed blocks), a position id of 0 starts a new document: RoPE uses these positions
 * and attention does not cross document starts (block-diagonal causal mask).
 */
public record Batch(int[][] inputIds, int[][] labels, int[][] positionIds) {
    public static final int IGNORE_INDEX = -100;

    public Batch {
        if (inputIds.length == 0) throw new IllegalArgumentException("empty batch");
        int t = inputIds[0].length;
        for (int b = 0; b < inputIds.length; b++) {
            if (inputIds[b].length != t
                    || labels[b].length != t
                    || (positionIds != null && positionIds[b].length != t)) {
                throw new IllegalArgumentException(
                        "batch row " + b + ": input_ids, labels and position_ids must all have " + "length " + t);
            }
        }
    }

    public int batchSize() {
        return inputIds.length;
    }

    public int seqLen() {
        return inputIds[0].length;
    }

    /** Number of predicted (non-ignored, shifted) target tokens. */
    public long targetTokens() {
        long n = 0;
        for (int[] row : labels) {
            for (int t = 1; t < row.length; t++) if (row[t] != IGNORE_INDEX) n++;
        }
        return n;
    }
}
