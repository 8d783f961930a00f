package io.lakelora.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link Packing#packA} against its layout definition, {@code ap[apOff + s*mr*kc + p*mr + r] = op(A)(i0 + s*mr + r,
 * p0 + p)} with zero rows padding a short last strip: the 12-row strips that go through {@link PackVector512}'s
 * register transpose (16 k steps at a time, a scalar remainder) and the plain loops, with destinations that have no
 * room for the vector packer's 4-float overhang (it must then fall back, not throw or write past the strip).
 */
class PackingTest {

    @Test
    void packAMatchesTheStripLayoutForEveryDepthAndDestination() {
        Random rnd = new Random(5);
        int rowsA = 40, lda = 1111;
        float[] a = new float[rowsA * lda];
        for (int i = 0; i < a.length; i++) a[i] = rnd.nextFloat() - 0.5f;
        for (int mr : new int[] {12, 6}) {
            for (int kc : new int[] {1, 15, 16, 17, 47, 48, 512, 700}) {
                for (int mc : new int[] {12, 24, 29}) {
                    for (int slack : new int[] {0, 3, 4, 16}) {
                        int strips = (mc + mr - 1) / mr;
                        int apOff = 7;
                        float[] ap = new float[apOff + strips * mr * kc + slack];
                        java.util.Arrays.fill(ap, Float.NaN);
                        int i0 = 3, p0 = 101;
                        Packing.packA(false, a, 5, lda, i0, mc, p0, kc, ap, apOff, mr);
                        for (int s = 0; s < strips; s++) {
                            for (int p = 0; p < kc; p++) {
                                for (int r = 0; r < mr; r++) {
                                    int row = s * mr + r;
                                    float want = row < mc ? a[5 + (i0 + row) * lda + p0 + p] : 0f;
                                    int at = apOff + s * mr * kc + p * mr + r;
                                    assertEquals(
                                            want,
                                            ap[at],
                                            0f,
                                            "mr=" + mr + " kc=" + kc + " mc=" + mc + " strip " + s + " p=" + p + " r="
                                                    + r);
                                }
                            }
                        }
                        for (int i = 0; i < apOff; i++) assertEquals(Float.NaN, ap[i], 0f, "written before apOff");
                    }
                }
            }
        }
    }

    @Test
    void transposedAIsPackedByItsContiguousRuns() {
        Random rnd = new Random(6);
        int k = 50, m = 30, lda = 33;
        float[] a = new float[k * lda];
        for (int i = 0; i < a.length; i++) a[i] = rnd.nextFloat();
        float[] ap = new float[3 * 12 * 20];
        Packing.packA(true, a, 0, lda, 2, 27, 10, 20, ap, 0, 12);
        for (int s = 0; s < 3; s++) {
            for (int p = 0; p < 20; p++) {
                for (int r = 0; r < 12; r++) {
                    int row = s * 12 + r;
                    float want = row < 27 ? a[(10 + p) * lda + 2 + row] : 0f;
                    assertEquals(want, ap[s * 240 + p * 12 + r], 0f);
                }
            }
        }
    }

    @Test
    void packBMatchesTheStripLayoutWithPaddedLastStrip() {
        // bp[s*nr*kc + p*nr + c] = op(B)(p0 + p, j0 + s*nr + c), zeros past nc; full strips of a plain B are copied
        // k step by k step (each source row read once), the last partial strip on its own
        Random rnd = new Random(6);
        int ldb = 301, rowsB = 90, bOff = 7;
        float[] b = new float[bOff + rowsB * ldb];
        for (int i = 0; i < b.length; i++) b[i] = rnd.nextFloat() - 0.5f;
        for (boolean transB : new boolean[] {false, true}) {
            for (int nr : new int[] {32, 16}) {
                for (int nc : new int[] {70, 64, 5}) {
                    int j0 = 3, p0 = 11, kc = 50;
                    int strips = (nc + nr - 1) / nr;
                    float[] bp = new float[strips * nr * kc + 3];
                    java.util.Arrays.fill(bp, Float.NaN);
                    Packing.packB(transB, b, bOff, ldb, j0, nc, p0, kc, bp, nr);
                    for (int st = 0; st < strips; st++) {
                        for (int p = 0; p < kc; p++) {
                            for (int c = 0; c < nr; c++) {
                                int j = st * nr + c;
                                int src = transB ? bOff + (j0 + j) * ldb + p0 + p : bOff + (p0 + p) * ldb + j0 + j;
                                float want = j >= nc ? 0f : b[src];
                                assertEquals(
                                        want,
                                        bp[st * nr * kc + p * nr + c],
                                        "transB " + transB + " nr " + nr + " nc " + nc + " strip " + st + " p " + p
                                                + " col " + c);
                            }
                        }
                    }
                    for (int t = strips * nr * kc; t < bp.length; t++) assertEquals(Float.NaN, bp[t], "past the end");
                }
            }
        }
    }
}
