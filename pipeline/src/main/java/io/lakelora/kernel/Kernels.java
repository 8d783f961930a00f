package io.lakelora.kernel;

import io.lakelora.quant.QuantizedMatrix;

/**
 * The compute backend. Model and training code talk only to this interface, so a GPU backend can be added beside
 * {@link ScalarKernels} (the spec and fallback) and the Vector API implementation ({@link VectorKernels}).
 *
 * <p>Two parts: the matrix products below, and the layers' row and element-wise operations ({@link #math()}:
 * softmax pieces, RMSNorm rows, SwiGLU). The layers in {@code model.nn} reach the hardware only through these two, so
 * a backend's choice covers every vectorized loop of a step: {@link ScalarKernels} returns {@link ScalarMathOps}
 * and loads no {@code jdk.incubator.vector} class; {@link VectorKernels} returns the Vector API operations.
 *
 * <p>Conventions (BLAS, row-major): {@code C = alpha * op(A) * op(B) + beta * C}, where op(X) is X or X^T,
 * op(A) is m x k, op(B) is k x n, C is m x n. Leading dimensions are row strides. {@code beta == 0} means C is
 * overwritten (its old contents, even NaN, are ignored).
 *
 * <p>Linear layers store weights as PyTorch does, W[out, in], so a forward pass {@code y = x W^T} is
 * {@code sgemm(false, true, T, out, in, ...)} and the input gradient {@code dx = dy W} is
 * {@code sgemm(false, false, T, in, out, ...)}.
 */
public interface Kernels {

    /** Short name for logs, e.g. "scalar" or "vector-avx512". */
    String name();

    /** Threads one call may use (1 = the calling thread only). */
    int threads();

    /** The row and element-wise operations of this backend (the same instance on every call). */
    MathOps math();

    void sgemm(
            boolean transA,
            boolean transB,
            int m,
            int n,
            int k,
            float alpha,
            float[] a,
            int aOff,
            int lda,
            float[] b,
            int bOff,
            int ldb,
            float beta,
            float[] c,
            int cOff,
            int ldc);

    /**
     * As {@link #sgemm} with B a frozen quantized matrix W[rows, cols] (never materialized in fp32).
     * {@code transB == true}: op(B) = W^T, so k == W.cols() and n == W.rows() (forward, y = x W^T).
     * {@code transB == false}: op(B) = W, so k == W.rows() and n == W.cols() (input gradient, dx = dy W).
     */
    void qgemm(
            boolean transA,
            boolean transB,
            int m,
            int n,
            int k,
            float alpha,
            float[] a,
            int aOff,
            int lda,
            QuantizedMatrix b,
            float beta,
            float[] c,
            int cOff,
            int ldc);

    /**
     * A low-rank fp32 term {@code alpha * A (m x r) * op(B) (r x n)} (B is n x r when {@code transB}) added to a
     * product by the overloads of {@link #sgemm} and {@link #qgemm} that take one: a LoRA adapter's up-projection
     * {@code s * u B^T} beside its frozen layer, or its input gradient {@code du A} beside the frozen one.
     */
    record LowRank(int r, float alpha, float[] a, int aOff, int lda, boolean transB, float[] b, int bOff, int ldb) {}

    /**
     * {@code C = alpha * op(A) * op(B) + extra + beta * C}. The result is that of the low-rank product with
     * {@code beta} followed by the main one accumulating ({@code beta = 1}), which is what the default does; a backend
     * may do both in one pass over C (same bits).
     */
    default void sgemm(
            boolean transA,
            boolean transB,
            int m,
            int n,
            int k,
            float alpha,
            float[] a,
            int aOff,
            int lda,
            float[] b,
            int bOff,
            int ldb,
            LowRank extra,
            float beta,
            float[] c,
            int cOff,
            int ldc) {
        sgemm(
                false,
                extra.transB(),
                m,
                n,
                extra.r(),
                extra.alpha(),
                extra.a(),
                extra.aOff(),
                extra.lda(),
                extra.b(),
                extra.bOff(),
                extra.ldb(),
                beta,
                c,
                cOff,
                ldc);
        sgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, 1f, c, cOff, ldc);
    }

    /** As {@link #sgemm(boolean, boolean, int, int, int, float, float[], int, int, float[], int, int, LowRank, float, float[], int, int)} with a quantized B. */
    default void qgemm(
            boolean transA,
            boolean transB,
            int m,
            int n,
            int k,
            float alpha,
            float[] a,
            int aOff,
            int lda,
            QuantizedMatrix b,
            LowRank extra,
            float beta,
            float[] c,
            int cOff,
            int ldc) {
        sgemm(
                false,
                extra.transB(),
                m,
                n,
                extra.r(),
                extra.alpha(),
                extra.a(),
                extra.aOff(),
                extra.lda(),
                extra.b(),
                extra.bOff(),
                extra.ldb(),
                beta,
                c,
                cOff,
                ldc);
        qgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, 1f, c, cOff, ldc);
    }

    /** One unit of {@link #parallelFor}: {@code task} in [0, tasks), {@code worker} in [0, threads()). */
    @FunctionalInterface
    interface Task {
        void run(int task, int worker);
    }

    /**
     * Runs {@code body.run(i, worker)} for every i in [0, tasks), spread over up to {@link #threads()} threads, and
     * returns when all have finished (the first failure is rethrown). Tasks must write disjoint memory, and what a
     * task computes must not depend on the thread that runs it, so results are the same for any thread count.
     * {@code worker} identifies the running thread (for per-thread scratch); kernel calls made inside a task run on
     * that one thread. The default runs the tasks in order on the calling thread, as worker 0.
     */
    default void parallelFor(int tasks, Task body) {
        for (int i = 0; i < tasks; i++) body.run(i, 0);
    }

    // ---- a B operand packed once, used by many products over sub-ranges of it (attention: K, V, Q, dO per head) ----

    /** Floats {@link #packB} needs for op(B) of k x n. */
    default int packedBSize(int k, int n) {
        return Math.multiplyExact(k, n);
    }

    /**
     * Columns of a packed op(B) at which {@link #sgemmPackedB}'s {@code n0} must start (a multiple of this); callers
     * that need another start compute from the aligned column below it and ignore the extra columns.
     */
    default int packedBColumnAlign() {
        return 1;
    }

    /**
     * Packs op(B) (k x n; B is n x k when {@code transB}) into {@code dst} (at least {@link #packedBSize} floats) in
     * this backend's layout. The default layout is op(B) row-major.
     */
    default void packB(boolean transB, int k, int n, float[] b, int bOff, int ldb, float[] dst) {
        for (int p = 0; p < k; p++) {
            for (int j = 0; j < n; j++) dst[p * n + j] = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
        }
    }

    /**
     * {@code C (m x (n1-n0)) = alpha * op(A) (m x (k1-k0)) * op(B)[k0:k1, n0:n1] + beta * C} with op(B) (k x n)
     * packed by {@link #packB}; {@code n0} is a multiple of {@link #packedBColumnAlign()}. op(A) starts at
     * {@code aOff} (its column p pairs with row k0 + p of op(B)). As {@link #sgemm}: beta 0 overwrites C. Runs on
     * the calling thread.
     */
    default void sgemmPackedB(
            boolean transA,
            int m,
            int n0,
            int n1,
            int k0,
            int k1,
            float alpha,
            float[] a,
            int aOff,
            int lda,
            float[] packed,
            int k,
            int n,
            float beta,
            float[] c,
            int cOff,
            int ldc) {
        sgemm(transA, false, m, n1 - n0, k1 - k0, alpha, a, aOff, lda, packed, k0 * n + n0, n, beta, c, cOff, ldc);
    }
}
