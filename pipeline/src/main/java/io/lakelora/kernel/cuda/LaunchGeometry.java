package io.lakelora.kernel.cuda;

/**
 * Grid and block sizes from problem sizes, for the two {@link Geometry} kinds.
 *
 * <ul>
 *   <li>Element-wise: 256 threads per block and enough blocks for one element per thread, capped at 32 blocks per
 *       multiprocessor (the grid-stride loop covers the rest; more blocks only add scheduling).
 *   <li>Rows: one block per row; threads = a quarter of the row width rounded up to a multiple of 32, between 32 and
 *       1024 (each thread then sums about four elements before the tree). The block size depends on the width only,
 *       so the reduction order, and the result's bits, are the same for every call of that width.
 * </ul>
 */
public final class LaunchGeometry {
    private LaunchGeometry() {}

    public static final int ELEMENTWISE_BLOCK = 256;
    public static final int MAX_BLOCK = 1024;
    public static final int MAX_GRID_YZ = 65535;

    /** A launch's grid and block. */
    public record Launch(Dim3 grid, Dim3 block) {}

    /** For {@code n} elements on a device with {@code multiprocessors} SMs. */
    public static Launch elementwise(long n, int multiprocessors) {
        if (n < 0) throw new IllegalArgumentException("element count " + n);
        if (multiprocessors < 1) throw new IllegalArgumentException("multiprocessors " + multiprocessors);
        long blocks = Math.max(1, (n + ELEMENTWISE_BLOCK - 1) / ELEMENTWISE_BLOCK);
        long cap = 32L * multiprocessors;
        return new Launch(Dim3.of((int) Math.min(blocks, cap)), Dim3.of(ELEMENTWISE_BLOCK));
    }

    /** Threads per block of a row kernel over rows of {@code width} elements. */
    public static int rowBlock(int width) {
        if (width < 1) throw new IllegalArgumentException("row width " + width);
        int t = (width + 3) / 4;
        t = (t + 31) / 32 * 32;
        return Math.max(32, Math.min(MAX_BLOCK, t));
    }

    /** {@code rows} rows of {@code width}: grid (rows), block {@link #rowBlock}. */
    public static Launch rows(int rows, int width) {
        if (rows < 1) throw new IllegalArgumentException("row count " + rows + ": a launch needs at least one row");
        return new Launch(Dim3.of(rows), Dim3.of(rowBlock(width)));
    }

    /**
     * Attention rows: grid (Tq, NH, B), one block per (query row, head, batch element), over key rows of width Tk.
     */
    public static Launch attentionRows(int Tq, int NH, int B, int Tk) {
        if (Tq < 1 || NH < 1 || B < 1)
            throw new IllegalArgumentException("attention grid Tq=" + Tq + " NH=" + NH + " B=" + B);
        if (NH > MAX_GRID_YZ || B > MAX_GRID_YZ) {
            throw new IllegalArgumentException(
                    "attention grid: NH=" + NH + " and B=" + B + " must be <= " + MAX_GRID_YZ);
        }
        return new Launch(new Dim3(Tq, NH, B), Dim3.of(rowBlock(Tk)));
    }
}
