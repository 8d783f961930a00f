package io.lakelora.model.nn;

import io.lakelora.kernel.Kernels;
import io.lakelora.kernel.MathOps;

/**
 * Scaled dot-product attention with grouped KV heads (GQA: query head h reads KV head h / (NH / NKV), as HF's
 * {@code repeat_kv}) and a per-row key window: query row i attends to key rows {@code lo[i]..hi[i]} inclusive. A causal
 * mask is {@code lo = 0, hi = i} (+ the KV-cache length); packed documents use {@code lo = start of i's document}, a
 * block-diagonal causal mask. Softmax in fp32, scale 1/sqrt(HS).
 *
 * <p>Query rows are processed in blocks of {@link #ROW_BLOCK}; each block multiplies only the key span its rows can
 * see, so a causal pass does about half the work of the full T x T product. Probabilities outside a row's window are
 * exactly 0 inside that span; entries outside the span are never read.
 *
 * <p>Work is split over the kernel threads by KV head (a KV head and the query heads that read it form one task with
 * disjoint outputs, so any thread count gives the same bits). The operands reused by every row block (K^T and V in
 * a forward of more than {@value #PACK_MIN_ROWS} query rows; K, V^T, Q and dO in the backward) are packed once per
 * head with {@link Kernels#packB} and each block multiplies a sub-range of them ({@link Kernels#sgemmPackedB});
 * packing them again for every block cost more than the blocks' arithmetic.
 */
public final class Attention {
    private Attention() {}

    /** Query rows per block: 4 strips of the 12-row micro-kernel; measured faster than 64 or 128 (less causal waste). */
    public static final int ROW_BLOCK = 48;

    /**
     * @param out   (Tq, NH*HS) at outOff, overwritten
     * @param probs cache: (NH, Tq, Tk) at probsOff when {@code perHeadProbs}, else one (Tq, Tk) region reused per head
     * @param q     (Tq, NH*HS) at qOff (RoPE applied)
     * @param k     (Tk, NKV*HS) at kOff (RoPE applied)
     * @param v     (Tk, NKV*HS) at vOff
     * @param lo    (Tq) first visible key row per query row, at winOff
     * @param hi    (Tq) last visible key row per query row (inclusive), at winOff
     */
    public static void forward(
            Kernels kern,
            float[] out,
            int outOff,
            float[] probs,
            int probsOff,
            boolean perHeadProbs,
            float[] q,
            int qOff,
            float[] k,
            int kOff,
            float[] v,
            int vOff,
            int[] lo,
            int[] hi,
            int winOff,
            int Tq,
            int Tk,
            int NH,
            int NKV,
            int HS) {
        checkWindows(lo, hi, winOff, Tq, Tk);
        if (!perHeadProbs) {
            // one shared probs region: heads in order on this thread
            for (int g = 0; g < NKV; g++) {
                forwardGroup(
                        kern, out, outOff, probs, probsOff, false, q, qOff, k, kOff, v, vOff, lo, hi, winOff, Tq, Tk,
                        NH, NKV, HS, g);
            }
            return;
        }
        // each KV head and the query heads that read it are one task: disjoint outputs, so any thread count gives
        // the same bits
        kern.parallelFor(
                NKV,
                (g, worker) -> forwardGroup(
                        kern, out, outOff, probs, probsOff, true, q, qOff, k, kOff, v, vOff, lo, hi, winOff, Tq, Tk, NH,
                        NKV, HS, g));
    }

    /** The query heads of KV head {@code g}. */
    private static void forwardGroup(
            Kernels kern,
            float[] out,
            int outOff,
            float[] probs,
            int probsOff,
            boolean perHeadProbs,
            float[] q,
            int qOff,
            float[] k,
            int kOff,
            float[] v,
            int vOff,
            int[] lo,
            int[] hi,
            int winOff,
            int Tq,
            int Tk,
            int NH,
            int NKV,
            int HS,
            int g) {
        if (Tq <= PACK_MIN_ROWS) {
            forwardGroupUnpacked(
                    kern,
                    out,
                    outOff,
                    probs,
                    probsOff,
                    perHeadProbs,
                    q,
                    qOff,
                    k,
                    kOff,
                    v,
                    vOff,
                    lo,
                    hi,
                    winOff,
                    Tq,
                    Tk,
                    NH,
                    NKV,
                    HS,
                    g);
            return;
        }
        int QD = NH * HS;
        int KVD = NKV * HS;
        int rep = NH / NKV;
        float scale = (float) (1.0 / Math.sqrt(HS));
        int align = kern.packedBColumnAlign();
        // k_g^T (HS x Tk) and v_g (Tk x HS) packed once for all the group's heads and row blocks
        float[][] buf = packBuffers(kern, Tq, Tk, HS);
        float[] kT = buf[0], vP = buf[1];
        kern.packB(true, HS, Tk, k, kOff + g * HS, KVD, kT);
        kern.packB(false, Tk, HS, v, vOff + g * HS, KVD, vP);
        for (int h = g * rep; h < (g + 1) * rep; h++) {
            int p0 = probsOff + (perHeadProbs ? h * Tq * Tk : 0);
            for (int i0 = 0; i0 < Tq; i0 += ROW_BLOCK) {
                int i1 = Math.min(Tq, i0 + ROW_BLOCK);
                int kLo = spanLo(lo, winOff, i0, i1);
                int kHi = spanHi(hi, winOff, i0, i1);
                int kLoA = kLo / align * align; // the packed product starts at an aligned key column
                // scores (i1-i0, kLoA..kHi) = q_h[i0:i1] k_h[kLoA:kHi]^T * scale
                kern.sgemmPackedB(
                        false,
                        i1 - i0,
                        kLoA,
                        kHi + 1,
                        0,
                        HS,
                        scale,
                        q,
                        qOff + i0 * QD + h * HS,
                        QD,
                        kT,
                        HS,
                        Tk,
                        0f,
                        probs,
                        p0 + i0 * Tk + kLoA,
                        Tk);
                softmaxRows(kern.math(), probs, p0, lo, hi, winOff, i0, i1, kLoA, kHi, Tk);
                // out_h[i0:i1] (i1-i0, HS) = P[i0:i1, kLo:kHi] v_h[kLo:kHi]
                kern.sgemmPackedB(
                        false,
                        i1 - i0,
                        0,
                        HS,
                        kLo,
                        kHi + 1,
                        1f,
                        probs,
                        p0 + i0 * Tk + kLo,
                        Tk,
                        vP,
                        Tk,
                        HS,
                        0f,
                        out,
                        outOff + i0 * QD + h * HS,
                        QD);
            }
        }
    }

    /**
     * Softmax of rows i0..i1 over their windows, zeros in [from, lo) and (hi, to] (the computed span). The entries
     * outside a row's window are set to -infinity first (exp gives exactly 0) and each row is processed over the whole
     * span: a causal span of whole row blocks is a whole number of vectors, so no row has a partial last vector.
     */
    private static void softmaxRows(
            MathOps m,
            float[] probs,
            int p0,
            int[] lo,
            int[] hi,
            int winOff,
            int i0,
            int i1,
            int from,
            int to,
            int Tk) {
        int n = to - from + 1;
        for (int i = i0; i < i1; i++) {
            int row = p0 + i * Tk;
            int a = lo[winOff + i];
            int b = hi[winOff + i];
            for (int j = from; j < a; j++) probs[row + j] = Float.NEGATIVE_INFINITY;
            for (int j = b + 1; j <= to; j++) probs[row + j] = Float.NEGATIVE_INFINITY;
            // the window's max (never -infinity), taken over the whole span: the rest is -infinity now, and a causal
            // span is whole vectors (no scalar tail)
            float max = m.max(probs, row + from, n);
            float sum = m.expShiftSum(probs, row + from, n, max);
            m.scale(probs, row + from, n, 1f / sum);
        }
    }

    /** Query rows up to which the forward does not pack K/V per head (token-by-token decoding). */
    static final int PACK_MIN_ROWS = 8;

    /** Per-thread buffers of packed K^T, V (forward) and K, V^T, Q, dO (backward). */
    private static final ThreadLocal<float[][]> PACKED = ThreadLocal.withInitial(() -> new float[6][0]);

    private static float[][] packBuffers(Kernels kern, int Tq, int Tk, int HS) {
        float[][] b = PACKED.get();
        int[] need = {
            kern.packedBSize(HS, Tk),
            kern.packedBSize(Tk, HS),
            kern.packedBSize(Tk, HS),
            kern.packedBSize(HS, Tk),
            kern.packedBSize(Tq, HS),
            kern.packedBSize(Tq, HS)
        };
        for (int i = 0; i < b.length; i++) if (b[i].length < need[i]) b[i] = new float[need[i]];
        return b;
    }

    /** The query heads of KV head {@code g}, through plain sgemm calls (few query rows). */
    private static void forwardGroupUnpacked(
            Kernels kern,
            float[] out,
            int outOff,
            float[] probs,
            int probsOff,
            boolean perHeadProbs,
            float[] q,
            int qOff,
            float[] k,
            int kOff,
            float[] v,
            int vOff,
            int[] lo,
            int[] hi,
            int winOff,
            int Tq,
            int Tk,
            int NH,
            int NKV,
            int HS,
            int g) {
        int QD = NH * HS;
        int KVD = NKV * HS;
        int rep = NH / NKV;
        float scale = (float) (1.0 / Math.sqrt(HS));
        for (int h = g * rep; h < (g + 1) * rep; h++) {
            int kvh = g;
            int p0 = probsOff + (perHeadProbs ? h * Tq * Tk : 0);
            for (int i0 = 0; i0 < Tq; i0 += ROW_BLOCK) {
                int i1 = Math.min(Tq, i0 + ROW_BLOCK);
                int kLo = spanLo(lo, winOff, i0, i1);
                int kHi = spanHi(hi, winOff, i0, i1);
                int span = kHi - kLo + 1;
                int pb = p0 + i0 * Tk + kLo;
                // scores (i1-i0, span) = q_h[i0:i1] k_h[kLo:kHi]^T * scale
                kern.sgemm(
                        false,
                        true,
                        i1 - i0,
                        span,
                        HS,
                        scale,
                        q,
                        qOff + i0 * QD + h * HS,
                        QD,
                        k,
                        kOff + kLo * KVD + kvh * HS,
                        KVD,
                        0f,
                        probs,
                        pb,
                        Tk);
                softmaxRows(kern.math(), probs, p0, lo, hi, winOff, i0, i1, kLo, kHi, Tk);
                // out_h[i0:i1] (i1-i0, HS) = P[i0:i1, kLo:kHi] v_h[kLo:kHi]
                kern.sgemm(
                        false,
                        false,
                        i1 - i0,
                        HS,
                        span,
                        1f,
                        probs,
                        pb,
                        Tk,
                        v,
                        vOff + kLo * KVD + kvh * HS,
                        KVD,
                        0f,
                        out,
                        outOff + i0 * QD + h * HS,
                        QD);
            }
        }
    }

    /**
     * Backward of {@link #forward} with {@code perHeadProbs}. ACCUMULATES into dq, dk, dv (KV heads shared by several
     * query heads collect the sum, as the backward of {@code repeat_kv}).
     *
     * @param dq      (Tq, NH*HS) += at dqOff
     * @param dk      (Tk, NKV*HS) += at dkOff
     * @param dv      (Tk, NKV*HS) += at dvOff
     * @param scratch one buffer of at least (Tq, Tk) floats per kernel thread ({@code scratch[worker]}), overwritten
     * @param dout    (Tq, NH*HS) gradient of the output
     * @param probs   (NH, Tq, Tk) cache from the forward
     */
    public static void backward(
            Kernels kern,
            float[] dq,
            int dqOff,
            float[] dk,
            int dkOff,
            float[] dv,
            int dvOff,
            float[][] scratch,
            float[] dout,
            int doutOff,
            float[] probs,
            int probsOff,
            float[] q,
            int qOff,
            float[] k,
            int kOff,
            float[] v,
            int vOff,
            int[] lo,
            int[] hi,
            int winOff,
            int Tq,
            int Tk,
            int NH,
            int NKV,
            int HS) {
        if (scratch.length < Math.min(NKV, kern.threads())) {
            throw new IllegalArgumentException("attention backward: " + scratch.length + " scratch buffers for "
                    + kern.threads() + " threads; give one per kernel thread");
        }
        kern.parallelFor(
                NKV,
                (g, worker) -> backwardGroup(
                        kern,
                        dq,
                        dqOff,
                        dk,
                        dkOff,
                        dv,
                        dvOff,
                        scratch[worker],
                        dout,
                        doutOff,
                        probs,
                        probsOff,
                        q,
                        qOff,
                        k,
                        kOff,
                        v,
                        vOff,
                        lo,
                        hi,
                        winOff,
                        Tq,
                        Tk,
                        NH,
                        NKV,
                        HS,
                        g));
    }

    private static void backwardGroup(
            Kernels kern,
            float[] dq,
            int dqOff,
            float[] dk,
            int dkOff,
            float[] dv,
            int dvOff,
            float[] scratch,
            float[] dout,
            int doutOff,
            float[] probs,
            int probsOff,
            float[] q,
            int qOff,
            float[] k,
            int kOff,
            float[] v,
            int vOff,
            int[] lo,
            int[] hi,
            int winOff,
            int Tq,
            int Tk,
            int NH,
            int NKV,
            int HS,
            int g) {
        int QD = NH * HS;
        int KVD = NKV * HS;
        int rep = NH / NKV;
        float scale = (float) (1.0 / Math.sqrt(HS));
        int align = kern.packedBColumnAlign();
        MathOps m = kern.math();
        float[][] buf = packBuffers(kern, Tq, Tk, HS);
        float[] kP = buf[2], vT = buf[3], qP = buf[4], doP = buf[5];
        kern.packB(false, Tk, HS, k, kOff + g * HS, KVD, kP); // k_g (Tk x HS)
        kern.packB(true, HS, Tk, v, vOff + g * HS, KVD, vT); // v_g^T (HS x Tk)
        for (int h = g * rep; h < (g + 1) * rep; h++) {
            int p0 = probsOff + h * Tq * Tk;
            kern.packB(false, Tq, HS, q, qOff + h * HS, QD, qP); // q_h (Tq x HS)
            kern.packB(false, Tq, HS, dout, doutOff + h * HS, QD, doP); // dout_h (Tq x HS)
            for (int i0 = 0; i0 < Tq; i0 += ROW_BLOCK) {
                int i1 = Math.min(Tq, i0 + ROW_BLOCK);
                int kLo = spanLo(lo, winOff, i0, i1);
                int kHi = spanHi(hi, winOff, i0, i1);
                int span = kHi - kLo + 1;
                int kLoA = kLo / align * align;
                int pb = p0 + i0 * Tk + kLo;
                int sb = i0 * Tk + kLo;
                // forward: out_h = P v_h  =>  dv_h[kLo:kHi] += P^T dout_h ; dP = dout_h v_h^T
                kern.sgemmPackedB(
                        true,
                        span,
                        0,
                        HS,
                        i0,
                        i1,
                        1f,
                        probs,
                        pb,
                        Tk,
                        doP,
                        Tq,
                        HS,
                        1f,
                        dv,
                        dvOff + kLo * KVD + g * HS,
                        KVD);
                kern.sgemmPackedB(
                        false,
                        i1 - i0,
                        kLoA,
                        kHi + 1,
                        0,
                        HS,
                        1f,
                        dout,
                        doutOff + i0 * QD + h * HS,
                        QD,
                        vT,
                        HS,
                        Tk,
                        0f,
                        scratch,
                        i0 * Tk + kLoA,
                        Tk);
                // forward: P = softmax(S) row-wise  =>  dS = P * (dP - sum_j P dP), in place in scratch
                for (int i = i0; i < i1; i++) {
                    int pr = p0 + i * Tk;
                    int sr = i * Tk;
                    float dot = m.dot(probs, pr + kLo, scratch, sr + kLo, span);
                    m.mulShifted(scratch, sr + kLo, probs, pr + kLo, span, dot);
                }
                // forward: S = q_h k_h^T * scale  =>  dq_h += scale dS k_h ; dk_h += scale dS^T q_h
                kern.sgemmPackedB(
                        false,
                        i1 - i0,
                        0,
                        HS,
                        kLo,
                        kHi + 1,
                        scale,
                        scratch,
                        sb,
                        Tk,
                        kP,
                        Tk,
                        HS,
                        1f,
                        dq,
                        dqOff + i0 * QD + h * HS,
                        QD);
                kern.sgemmPackedB(
                        true,
                        span,
                        0,
                        HS,
                        i0,
                        i1,
                        scale,
                        scratch,
                        sb,
                        Tk,
                        qP,
                        Tq,
                        HS,
                        1f,
                        dk,
                        dkOff + kLo * KVD + g * HS,
                        KVD);
            }
        }
    }

    private static int spanLo(int[] lo, int off, int i0, int i1) {
        int m = Integer.MAX_VALUE;
        for (int i = i0; i < i1; i++) m = Math.min(m, lo[off + i]);
        return m;
    }

    private static int spanHi(int[] hi, int off, int i0, int i1) {
        int m = Integer.MIN_VALUE;
        for (int i = i0; i < i1; i++) m = Math.max(m, hi[off + i]);
        return m;
    }

    private static void checkWindows(int[] lo, int[] hi, int off, int Tq, int Tk) {
        for (int i = 0; i < Tq; i++) {
            int a = lo[off + i];
            int b = hi[off + i];
            if (a < 0 || b < a || b >= Tk) {
                throw new IllegalArgumentException("attention window of query row " + i + " is [" + a + ", " + b
                        + "], expected 0 <= lo <= hi < " + Tk);
            }
        }
    }
}
