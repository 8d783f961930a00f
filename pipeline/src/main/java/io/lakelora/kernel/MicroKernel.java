package io.lakelora.kernel;

/**
 * A register-blocked GEMM micro-kernel of one vector width: computes an {@code mr x nr} tile of
 * {@code sum_p Ap[p][r] * Bp[p][j]} from packed panels, plus the few vector loops the small-m path needs. Each
 * subclass holds its species in a {@code static final} field: on Java 17 the Vector API only compiles to machine
 * vectors when the species is a compile-time constant, so one class per width (no generic species parameter).
 *
 * <p>Packed layouts (written by {@link Packing} and {@link QuantPacking}): an A strip is {@code kc} groups of
 * {@code mr} floats (row index fastest), a B strip is {@code kc} groups of {@code nr} floats (column index fastest);
 * short edge strips are zero-padded to the full {@code mr} / {@code nr}.
 */
abstract class MicroKernel {
    /** Rows of the register tile. */
    final int mr;
    /** Columns of the register tile (two vectors). */
    final int nr;
    /** Vector width in bits. */
    final int bits;

    MicroKernel(int mr, int nr, int bits) {
        this.mr = mr;
        this.nr = nr;
        this.bits = bits;
    }

    /**
     * Raw tile sums: {@code tile[r * nr + j] = sum_{p < kc} ap[ao + p*mr + r] * bp[bo + p*nr + j]}.
     */
    abstract void compute(int kc, float[] ap, int ao, float[] bp, int bo, float[] tile);

    /**
     * As {@link #compute} with A read in place instead of from a packed strip:
     * {@code tile[r * nr + j] = sum_{p < kc} a[ao + p*ps + r*rs] * bp[bo + p*nr + j]}, the same FMAs in the same
     * order (so bit-identical to packing the {@code mr} rows first). For a block of op(A) used by one column tile
     * only, where packing it would cost as much as the product.
     */
    /**
     * {@link #compute} then {@link #storeFull} of a full tile with {@code beta == 0}, fused: {@code C = alpha * acc}
     * straight from the accumulators (the same operations as storeFull, no tile round trip). Two methods rather than
     * one with a beta branch: one kernel plus both stores is too big for C1 (it bails out, "out of virtual
     * registers"), which leaves the Vector API code interpreted until C2 compiles it.
     */
    abstract void computeFull0(
            int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int cOff, int ldc, float alpha);

    /** As {@link #computeFull0} for {@code beta != 0}: {@code C = fma(acc, alpha, beta * C)}, as storeFull does. */
    abstract void computeFullBeta(
            int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int cOff, int ldc, float alpha, float beta);

    abstract void computeDirect(int kc, float[] a, int ao, int ps, int rs, float[] bp, int bo, float[] tile);

    /**
     * {@link #computeDirect} for a strip with at most {@code nr / 2} used columns (a rank-r LoRA factor, r <= 16 on
     * 512-bit vectors): only the tile's first {@code nr / 2} columns are computed, half the FMAs. Default: the full
     * strip.
     */
    void computeDirectHalf(int kc, float[] a, int ao, int ps, int rs, float[] bp, int bo, float[] tile) {
        computeDirect(kc, a, ao, ps, rs, bp, bo, tile);
    }

    /**
     * Full-tile update {@code C = alpha * tile + beta * C} over {@code mr x nr} ({@code beta == 0}: C is overwritten,
     * old contents ignored).
     */
    abstract void storeFull(float[] tile, float[] c, int cOff, int ldc, float alpha, float beta);

    /** {@code sum_{i < len} x[xo + i] * y[yo + i]}. */
    abstract float dot(float[] x, int xo, float[] y, int yo, int len);

    /** {@code y[yo + i] += s * x[xo + i]} for {@code i < len}. */
    abstract void axpy(float s, float[] x, int xo, float[] y, int yo, int len);

    /** Edge-tile update: as {@link #storeFull} over the top-left {@code rows x cols} of the tile. */
    final void storePartial(float[] tile, float[] c, int cOff, int ldc, int rows, int cols, float alpha, float beta) {
        for (int r = 0; r < rows; r++) {
            int t = r * nr;
            int ci = cOff + r * ldc;
            if (beta == 0f) {
                for (int j = 0; j < cols; j++) c[ci + j] = alpha * tile[t + j];
            } else {
                for (int j = 0; j < cols; j++) c[ci + j] = alpha * tile[t + j] + beta * c[ci + j];
            }
        }
    }
}
