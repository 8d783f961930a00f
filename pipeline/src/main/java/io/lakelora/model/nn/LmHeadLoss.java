package io.lakelora.model.nn;

import io.lakelora.kernel.Kernels;
import io.lakelora.kernel.MathOps;

/**
 * The output head fused with cross-entropy: {@code logits = x W^T} (W = lm_head [V, C], frozen), loss per target row
 * {@code logsumexp(logits) - logits[target]}, and (optionally) the input gradient {@code dx += (softmax - onehot) W}.
 * Rows without a target (ignored labels) cost nothing: target rows are gathered into chunks so the (N, V) logits are
 * never held at once, which bounds memory for large vocabularies.
 */
public final class LmHeadLoss {
    private final int C;
    private final int V;
    private final int chunk;
    private final float[] xs; // (chunk, C)
    private final float[] logits; // (chunk, V)
    private final float[] dxs; // (chunk, C)
    private final int[] rows; // (chunk)
    private final double[] rowLoss; // (chunk)

    /**
     * Buffers for a head of width C over V classes, about 64 MB of logits per chunk (16..512 rows). Each chunk packs
     * all of lm_head twice (forward and input gradient), so fewer, larger chunks are faster: 512 rows for a 32K
     * vocabulary, 130 for 128K.
     */
    public LmHeadLoss(int C, int V) {
        this(C, V, Math.max(16, Math.min(512, (16 << 20) / V)));
    }

    /** As above with an explicit number of rows per chunk. */
    public LmHeadLoss(int C, int V, int chunkRows) {
        if (chunkRows <= 0) throw new IllegalArgumentException("chunk rows must be > 0, got " + chunkRows);
        this.C = C;
        this.V = V;
        this.chunk = chunkRows;
        this.xs = new float[chunk * C];
        this.logits = new float[chunk * V];
        this.dxs = new float[chunk * C];
        this.rows = new int[chunk];
        this.rowLoss = new double[chunk];
    }

    /**
     * @param dx      (N, C) += input gradient of {@code gradScale * sum of losses}, or null for forward only
     * @param x       (N, C) final hidden states (after the final norm)
     * @param targets (N) class per row, or a negative value for "no target"
     * @param tokenLoss optional (N) output: each target row's loss (others untouched), or null
     * @return the sum of the target rows' losses (nats)
     */
    public double forwardBackward(
            Kernels kern,
            FrozenLinear head,
            float[] dx,
            float[] x,
            int[] targets,
            float[] tokenLoss,
            int N,
            float gradScale) {
        if (head.inFeatures() != C || head.outFeatures() != V) {
            throw new IllegalArgumentException(
                    "lm_head is " + head.outFeatures() + "x" + head.inFeatures() + ", expected " + V + "x" + C);
        }
        MathOps math = kern.math();
        double total = 0;
        int n = 0;
        while (n < N) {
            int m = 0;
            for (; n < N && m < chunk; n++) {
                int t = targets[n];
                if (t < 0) continue;
                if (t >= V) throw new IllegalArgumentException("target id " + t + " at row " + n + " is >= vocab " + V);
                rows[m] = n;
                System.arraycopy(x, n * C, xs, m * C, C);
                m++;
            }
            if (m == 0) break;
            head.forward(kern, logits, 0, xs, 0, m); // (m, V)
            // rows in parallel (each row's arithmetic is the same on any thread); the total is summed in row order
            Par.rows(kern, m, 8, (i0, i1) -> {
                for (int i = i0; i < i1; i++) {
                    int o = i * V;
                    float max = math.max(logits, o, V);
                    int t = targets[rows[i]];
                    float target = logits[o + t];
                    // exp(l - max) in place while summing (the same sum with or without a gradient), then
                    // d loss / d logits = softmax - onehot(target) in one scaling pass: one exp per logit
                    float sum = math.expShiftSum(logits, o, V, max);
                    rowLoss[i] = max + Math.log(sum) - target;
                    if (dx != null) {
                        math.scale(logits, o, V, gradScale / sum);
                        logits[o + t] -= gradScale;
                    }
                }
            });
            for (int i = 0; i < m; i++) {
                total += rowLoss[i];
                if (tokenLoss != null) tokenLoss[rows[i]] = (float) rowLoss[i];
            }
            if (dx != null) {
                int mm = m;
                // dx rows += dlogits (m, V) W (V, C), written straight into dx when the rows are contiguous
                boolean contiguous = rows[mm - 1] - rows[0] == mm - 1;
                if (contiguous) {
                    head.backwardInput(kern, dx, rows[0] * C, logits, 0, mm);
                } else {
                    java.util.Arrays.fill(dxs, 0, mm * C, 0f);
                    head.backwardInput(kern, dxs, 0, logits, 0, mm);
                    for (int i = 0; i < mm; i++) {
                        int d = rows[i] * C;
                        for (int c = 0; c < C; c++) dx[d + c] += dxs[i * C + c];
                    }
                }
            }
        }
        return total;
    }
}
