package io.lakelora.kernel;

import java.util.Arrays;

/**
 * Packs fp32 blocks of op(A) and op(B) into the strip layouts {@link MicroKernel} reads (see there): A by strips of
 * {@code mr} rows, B by strips of {@code nr} columns, k-major inside a strip, edge strips zero-padded. Indices are
 * absolute (row/column/k of op(X)), so callers split work without shifting offsets.
 */
final class Packing {
    private Packing() {}

    /**
     * k steps per pass when a strip is written with a stride ({@link #packB} with transB, and
     * {@link QuantPacking#packB}): 128 x 32 floats (16 KB) of the strip stay in L1 while each source row is read.
     */
    static final int K_CHUNK = 128;

    /** Packs op(A)[i0 .. i0+mc, p0 .. p0+kc) into {@code ap} (strip s at {@code s * mr * kc}). */
    static void packA(
            boolean transA, float[] a, int aOff, int lda, int i0, int mc, int p0, int kc, float[] ap, int mr) {
        packA(transA, a, aOff, lda, i0, mc, p0, kc, ap, 0, mr);
    }

    /**
     * As above, strip s at {@code apOff + s * mr * kc}. A 12-row strip may also write up to 4 floats past its end
     * (zeros, from {@link PackVector512}) when {@code ap} has room for them: the next strip, or nothing in use.
     */
    static void packA(
            boolean transA,
            float[] a,
            int aOff,
            int lda,
            int i0,
            int mc,
            int p0,
            int kc,
            float[] ap,
            int apOff,
            int mr) {
        int o = apOff;
        for (int is = 0; is < mc; is += mr) {
            int rows = Math.min(mr, mc - is);
            if (!transA && rows == 12 && mr == 12) {
                // the AVX-512 strip: twelve row streams read side by side, the strip written contiguously; with
                // 512-bit vectors 16 k steps of the 12 rows are transposed in registers (0.26 vs 0.35 ns per float)
                int s0 = aOff + (i0 + is) * lda + p0, s1 = s0 + lda, s2 = s1 + lda, s3 = s2 + lda;
                int s4 = s3 + lda, s5 = s4 + lda, s6 = s5 + lda, s7 = s6 + lda;
                int s8 = s7 + lda, s9 = s8 + lda, s10 = s9 + lda, s11 = s10 + lda;
                int p = 0;
                if (PackVector512.AVAILABLE) {
                    // 16 k steps at a time through a register transpose (each block writes 4 floats past its end:
                    // only while the array has them)
                    for (; p + 16 <= kc && o + (p + 16) * 12 + 4 <= ap.length; p += 16) {
                        PackVector512.pack12x16(a, s0 + p, lda, ap, o + p * 12);
                    }
                }
                for (int d = o + p * 12; p < kc; p++, d += 12) {
                    ap[d] = a[s0 + p];
                    ap[d + 1] = a[s1 + p];
                    ap[d + 2] = a[s2 + p];
                    ap[d + 3] = a[s3 + p];
                    ap[d + 4] = a[s4 + p];
                    ap[d + 5] = a[s5 + p];
                    ap[d + 6] = a[s6 + p];
                    ap[d + 7] = a[s7 + p];
                    ap[d + 8] = a[s8 + p];
                    ap[d + 9] = a[s9 + p];
                    ap[d + 10] = a[s10 + p];
                    ap[d + 11] = a[s11 + p];
                }
            } else if (!transA) {
                // op(A)(i, p) = a[i*lda + p]: read rows contiguously, write with stride mr
                for (int r = 0; r < rows; r++) {
                    int src = aOff + (i0 + is + r) * lda + p0;
                    int dst = o + r;
                    for (int p = 0; p < kc; p++) ap[dst + p * mr] = a[src + p];
                }
            } else {
                // op(A)(i, p) = a[p*lda + i]: each k step is a contiguous run of rows
                for (int p = 0; p < kc; p++) {
                    int src = aOff + (p0 + p) * lda + i0 + is;
                    int dst = o + p * mr;
                    for (int r = 0; r < rows; r++) ap[dst + r] = a[src + r];
                }
            }
            if (rows < mr) {
                for (int p = 0; p < kc; p++) Arrays.fill(ap, o + p * mr + rows, o + (p + 1) * mr, 0f);
            }
            o += mr * kc;
        }
    }

    /** Packs op(B)[p0 .. p0+kc, j0 .. j0+nc) into {@code bp} (strip s at {@code s * nr * kc}). */
    static void packB(
            boolean transB, float[] b, int bOff, int ldb, int j0, int nc, int p0, int kc, float[] bp, int nr) {
        int o = 0;
        int js0 = 0;
        if (!transB && nc >= nr) {
            // op(B)(p, j) = b[p*ldb + j]: the full strips k step by k step, each source row read once from start to
            // end (a strip at a time read 128 bytes per row with a row-sized stride, which the hardware prefetcher
            // does not follow across pages: 2.3x slower for lm_head's 32000 x 2048 input-gradient panels)
            int full = nc / nr;
            int stripLen = nr * kc;
            for (int p = 0; p < kc; p++) {
                int src = bOff + (p0 + p) * ldb + j0;
                int dst = p * nr;
                for (int s = 0; s < full; s++, src += nr, dst += stripLen) System.arraycopy(b, src, bp, dst, nr);
            }
            js0 = full * nr;
            o = full * stripLen;
        }
        for (int js = js0; js < nc; js += nr) {
            int cols = Math.min(nr, nc - js);
            if (!transB) {
                // op(B)(p, j) = b[p*ldb + j]: each k step is a contiguous run of columns
                for (int p = 0; p < kc; p++) {
                    int dst = o + p * nr;
                    System.arraycopy(b, bOff + (p0 + p) * ldb + j0 + js, bp, dst, cols);
                    if (cols < nr) Arrays.fill(bp, dst + cols, dst + nr, 0f);
                }
            } else {
                // op(B)(p, j) = b[j*ldb + p]: read rows of B contiguously, write with stride nr; by k chunks so
                // the part of the strip being written stays in L1 (a whole 512 x 32 strip is 64 KB)
                // (eight B rows side by side per pass, writing 8 contiguous floats per k step)
                for (int pk = 0; pk < kc; pk += K_CHUNK) {
                    int len = Math.min(K_CHUNK, kc - pk);
                    int j = 0;
                    for (; j + 8 <= cols; j += 8) {
                        int s0 = bOff + (j0 + js + j) * ldb + p0 + pk, s1 = s0 + ldb, s2 = s1 + ldb, s3 = s2 + ldb;
                        int s4 = s3 + ldb, s5 = s4 + ldb, s6 = s5 + ldb, s7 = s6 + ldb;
                        for (int p = 0, d = o + pk * nr + j; p < len; p++, d += nr) {
                            bp[d] = b[s0 + p];
                            bp[d + 1] = b[s1 + p];
                            bp[d + 2] = b[s2 + p];
                            bp[d + 3] = b[s3 + p];
                            bp[d + 4] = b[s4 + p];
                            bp[d + 5] = b[s5 + p];
                            bp[d + 6] = b[s6 + p];
                            bp[d + 7] = b[s7 + p];
                        }
                    }
                    for (; j < cols; j++) {
                        int src = bOff + (j0 + js + j) * ldb + p0 + pk;
                        int dst = o + pk * nr + j;
                        for (int p = 0; p < len; p++) bp[dst + p * nr] = b[src + p];
                    }
                }
                if (cols < nr) {
                    for (int p = 0; p < kc; p++) Arrays.fill(bp, o + p * nr + cols, o + (p + 1) * nr, 0f);
                }
            }
            o += nr * kc;
        }
    }
}
