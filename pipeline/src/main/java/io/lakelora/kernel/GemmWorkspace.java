package io.lakelora.kernel;

/**
 * Per-thread scratch of {@link VectorKernels}: packed A block ({@code MC x KC_MAX}), packed B panel
 * ({@code KC_MAX x NC}), one register tile, and grow-only rows for the small-m path. Allocated once per thread (about
 * 6.4 MB) and reused by every call on that thread, so steady-state calls allocate nothing.
 */
final class GemmWorkspace {
    private static final ThreadLocal<GemmWorkspace> LOCAL = ThreadLocal.withInitial(GemmWorkspace::new);

    final float[] ap = new float[VectorKernels.MC * VectorKernels.KC_MAX + 16]; // + the vector packer's overhang
    final float[] bp = new float[VectorKernels.KC_MAX * VectorKernels.NC];
    final float[] tile = new float[MicroKernel512.MR * MicroKernel512.NR];
    /** Absmax of 16 rows per 32 k steps, for {@link VectorDecode512#decodeTransposedWide}. */
    final float[] decodeTile = new float[64];
    /** The transposed 4-bit codes of that decoder (16 x 16 ints). */
    final int[] decodeCodes = new int[256];

    private final float[] pairs = new float[512];
    private float[] pairsCode;
    private float[] row = new float[0];
    private float[] aRows = new float[0];
    private float[] aAll = new float[0];
    private float[] lowRankA = new float[0];
    private float[] lowRankB = new float[0];

    static GemmWorkspace get() {
        return LOCAL.get();
    }

    /** The decode pair table for {@code code} (rebuilt only when the codebook array changes). */
    float[] pairs(float[] code) {
        if (code != pairsCode) {
            QuantPacking.pairTable(code, pairs);
            pairsCode = code;
        }
        return pairs;
    }

    /** A scratch row of at least {@code len} floats. */
    float[] row(int len) {
        if (row.length < len) row = new float[len];
        return row;
    }

    /** Packed A strips of a low-rank term (grow-only), at least {@code len} floats. */
    float[] lowRankA(int len) {
        if (lowRankA.length < len) lowRankA = new float[len];
        return lowRankA;
    }

    /** Packed B panel of a low-rank term (grow-only), at least {@code len} floats. */
    float[] lowRankB(int len) {
        if (lowRankB.length < len) lowRankB = new float[len];
        return lowRankB;
    }

    /** Scratch for gathered A rows, at least {@code len} floats. */
    float[] aRows(int len) {
        if (aRows.length < len) aRows = new float[len];
        return aRows;
    }

    /** Scratch for all of a packed op(A) (reused across column panels), at least {@code len} floats. */
    float[] aAll(int len) {
        if (aAll.length < len) aAll = new float[len + 16]; // + the vector packer's overhang
        return aAll;
    }
}
