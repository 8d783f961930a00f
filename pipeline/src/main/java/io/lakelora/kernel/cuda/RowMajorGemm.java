package io.lakelora.kernel.cuda;

/**
 * The engine's row-major products on cuBLAS, which is column-major. A row-major matrix X (r x c, row stride ld) read
 * column-major with the same ld is X^T, so row-major {@code C = op(A) op(B)} is column-major
 * {@code C^T = op(B)^T op(A)^T}: call cuBLAS with the operands swapped (B first), their transposes swapped with them,
 * and m and n swapped; the leading dimensions stay the row strides. No data moves.
 *
 * <p>Conventions as {@link io.lakelora.kernel.Kernels#sgemm}: op(A) is m x k, op(B) is k x n, C is m x n, leading
 * dimensions are row strides, {@code beta == 0} overwrites C. Strides and leading dimensions count elements.
 */
public final class RowMajorGemm {
    private RowMajorGemm() {}

    /** The cuBLAS (column-major) call that computes a row-major product. */
    public record ColumnMajorCall(
            boolean transA, boolean transB, int m, int n, int k, long a, int lda, long b, int ldb, long c, int ldc) {}

    /**
     * The column-major call for row-major {@code C (m x n) = op(A) op(B)}; checks the row-major leading dimensions
     * (A's row stride at least its row length, and so on) with messages in the caller's terms.
     */
    public static ColumnMajorCall map(
            boolean transA, boolean transB, int m, int n, int k, long a, int lda, long b, int ldb, long c, int ldc) {
        if (m < 0 || n < 0 || k < 0) throw new IllegalArgumentException("gemm sizes m=" + m + " n=" + n + " k=" + k);
        int aRow = transA ? m : k; // A is (k x m) when transposed, so its rows hold m elements
        int bRow = transB ? k : n;
        if (lda < Math.max(1, aRow)) {
            throw new IllegalArgumentException("row-major gemm: A " + (transA ? "(k x m, transposed)" : "(m x k)")
                    + " has rows of " + aRow + " elements but lda is " + lda);
        }
        if (ldb < Math.max(1, bRow)) {
            throw new IllegalArgumentException("row-major gemm: B " + (transB ? "(n x k, transposed)" : "(k x n)")
                    + " has rows of " + bRow + " elements but ldb is " + ldb);
        }
        if (ldc < Math.max(1, n)) {
            throw new IllegalArgumentException("row-major gemm: C (m x n) has rows of " + n + " but ldc is " + ldc);
        }
        return new ColumnMajorCall(transB, transA, n, m, k, b, ldb, a, lda, c, ldc);
    }

    /** Row-major {@code C = alpha op(A) op(B) + beta C} through {@link CudaApi#gemmEx}; C is fp32. */
    public static void gemm(
            CudaApi api,
            boolean transA,
            boolean transB,
            int m,
            int n,
            int k,
            float alpha,
            long a,
            DataType aType,
            int lda,
            long b,
            DataType bType,
            int ldb,
            float beta,
            long c,
            int ldc,
            GemmCompute compute) {
        ColumnMajorCall x = map(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        api.gemmEx(
                x.transA(),
                x.transB(),
                x.m(),
                x.n(),
                x.k(),
                alpha,
                x.a(),
                bType,
                x.lda(),
                x.b(),
                aType,
                x.ldb(),
                beta,
                x.c(),
                DataType.F32,
                x.ldc(),
                compute);
    }

    /**
     * {@code batch} row-major products, the i-th on A + i*strideA, B + i*strideB, C + i*strideC (elements), through
     * {@link CudaApi#gemmStridedBatchedEx} (e.g. attention's scores per head: q_h k_h^T with the heads side by side
     * in a row, stride HS, leading dimension NH*HS).
     */
    public static void gemmBatched(
            CudaApi api,
            boolean transA,
            boolean transB,
            int m,
            int n,
            int k,
            float alpha,
            long a,
            DataType aType,
            int lda,
            long strideA,
            long b,
            DataType bType,
            int ldb,
            long strideB,
            float beta,
            long c,
            int ldc,
            long strideC,
            int batch,
            GemmCompute compute) {
        if (batch < 0) throw new IllegalArgumentException("gemm batch " + batch);
        ColumnMajorCall x = map(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        api.gemmStridedBatchedEx(
                x.transA(),
                x.transB(),
                x.m(),
                x.n(),
                x.k(),
                alpha,
                x.a(),
                bType,
                x.lda(),
                strideB,
                x.b(),
                aType,
                x.ldb(),
                strideA,
                beta,
                x.c(),
                DataType.F32,
                x.ldc(),
                strideC,
                batch,
                compute);
    }
}
