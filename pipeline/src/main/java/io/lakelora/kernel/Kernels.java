package io.lakelora.kernel;

import io.lakelora.quant.QuantizedMatrix;

/**
 * The compute backend. Model and training code talk only to this interface, so a GPU backend can be added beside
 * {@link ScalarKernels} (the spec and fallback) and the Vector API implementation.
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

    void sgemm(boolean transA, boolean transB, int m, int n, int k,
               float alpha, float[] a, int aOff, int lda,
               float[] b, int bOff, int ldb,
               float beta, float[] c, int cOff, int ldc);

    /**
     * As {@link #sgemm} with B a frozen quantized matrix W[rows, cols] (never materialized in fp32).
     * {@code transB == true}: op(B) = W^T, so k == W.cols() and n == W.rows() (forward, y = x W^T).
     * {@code transB == false}: op(B) = W, so k == W.rows() and n == W.cols() (input gradient, dx = dy W).
     */
    void qgemm(boolean transA, boolean transB, int m, int n, int k,
               float alpha, float[] a, int aOff, int lda,
               QuantizedMatrix b,
               float beta, float[] c, int cOff, int ldc);

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
}
