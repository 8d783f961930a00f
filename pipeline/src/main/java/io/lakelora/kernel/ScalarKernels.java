package io.lakelora.kernel;

import io.lakelora.quant.QuantizedMatrix;

/**
 * The specification: plain loops, single thread, fp32 accumulation in the natural k order, and {@link ScalarMathOps}
 * for the layers' row and element-wise operations. Every fast kernel is tested against this class; it is also the
 * fallback when the Vector API is unavailable, and loads no {@code jdk.incubator.vector} class. Not final: new operations are added
 * to {@link Kernels} with their scalar specification here, and fast subclasses ({@link VectorKernels}) override what
 * they accelerate and inherit the rest.
 */
public class ScalarKernels implements Kernels {

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public int threads() {
        return 1;
    }

    @Override
    public MathOps math() {
        return ScalarMathOps.INSTANCE;
    }

    @Override
    public void sgemm(
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
            int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float acc = 0f;
                for (int p = 0; p < k; p++) {
                    float av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                    float bv = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                    acc += av * bv;
                }
                int ci = cOff + i * ldc + j;
                c[ci] = beta == 0f ? alpha * acc : alpha * acc + beta * c[ci];
            }
        }
    }

    @Override
    public void qgemm(
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
            int ldc) {
        checkQuantShape(transB, n, k, b);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float acc = 0f;
                for (int p = 0; p < k; p++) {
                    float av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                    float bv = transB ? b.get(j, p) : b.get(p, j);
                    acc += av * bv;
                }
                int ci = cOff + i * ldc + j;
                c[ci] = beta == 0f ? alpha * acc : alpha * acc + beta * c[ci];
            }
        }
    }

    static void checkQuantShape(boolean transB, int n, int k, QuantizedMatrix b) {
        int expK = transB ? b.cols() : b.rows();
        int expN = transB ? b.rows() : b.cols();
        if (k != expK || n != expN) {
            throw new IllegalArgumentException("qgemm: W is " + b.rows() + "x" + b.cols() + " (transB=" + transB
                    + "), so expected k=" + expK + " n=" + expN + ", got k=" + k + " n=" + n);
        }
    }
}
