package io.lakelora.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lakelora.quant.QuantType;
import io.lakelora.quant.QuantizedMatrix;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/**
 * The fused de-quantization ({@link QuantPacking}) reproduces {@link QuantizedMatrix#get} bit for bit: odd and even
 * start positions, runs crossing block and row boundaries, contiguous and strided destinations, every format, with
 * the scalar pair table and (on 512-bit machines) the vector decoder {@link VectorDecode512}.
 */
class QuantPackingTest {

    @Test
    void decodeEqualsGetBitForBit() {
        Random rnd = new Random(21);
        QuantizedMatrix[] ws = {
            RandomWeights.fourBit(rnd, QuantType.NF4, 7, 172, 64, false),
            RandomWeights.fourBit(rnd, QuantType.NF4, 9, 45, 32, true),
            RandomWeights.fourBit(rnd, QuantType.FP4, 5, 77, 128, false),
            RandomWeights.fourBit(rnd, QuantType.FP4, 11, 300, 64, true),
            RandomWeights.int8(rnd, 6, 51),
        };
        float[] pairs = new float[512];
        boolean[] vecModes = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512
                ? new boolean[] {false, true}
                : new boolean[] {false};
        for (boolean vec : vecModes)
            for (QuantizedMatrix w : ws) {
                if (w.codeData() != null) QuantPacking.pairTable(w.codeData(), pairs);
                long total = (long) w.rows() * w.cols();
                for (int trial = 0; trial < 200; trial++) {
                    long start = rnd.nextInt((int) total);
                    int len = 1 + rnd.nextInt((int) Math.min(total - start, 400));
                    // the vector decoder takes contiguous runs of >= 32 values inside a block: long even runs hit it
                    int stride = trial % 2 == 0 ? 1 : 1 + rnd.nextInt(33);
                    int off = rnd.nextInt(5);
                    float[] dst = new float[off + len * stride];
                    QuantPacking.decode(w, pairs, start, len, dst, off, stride, vec);
                    for (int i = 0; i < len; i++) {
                        long f = start + i;
                        float want = w.get((int) (f / w.cols()), (int) (f % w.cols()));
                        assertEquals(
                                Float.floatToIntBits(want),
                                Float.floatToIntBits(dst[off + i * stride]),
                                () -> w.type() + " " + w.rows() + "x" + w.cols() + " start=" + start + " len=" + len
                                        + " stride=" + stride + " vector decode=" + vec);
                    }
                }
            }
    }

    @Test
    void packedPanelHoldsTheTransposedWeightAndZeroPadding() {
        Random rnd = new Random(22);
        QuantizedMatrix w = RandomWeights.fourBit(rnd, QuantType.NF4, 37, 172, 64, true);
        float[] pairs = new float[512];
        QuantPacking.pairTable(w.codeData(), pairs);
        int nr = 16, kc = 100, p0 = 50, j0 = 3, nc = 20; // two strips, the second 4 wide + 12 zero columns
        float[] bp = new float[2 * nr * kc];
        java.util.Arrays.fill(bp, Float.NaN);
        // forward orientation: op(W)(p, j) = W(j, p)
        QuantPacking.packB(w, true, j0, nc, p0, kc, bp, nr, pairs, false);
        for (int s = 0; s < 2; s++) {
            for (int p = 0; p < kc; p++) {
                for (int jj = 0; jj < nr; jj++) {
                    int j = s * nr + jj;
                    float want = j < nc ? w.get(j0 + j, p0 + p) : 0f;
                    assertEquals(want, bp[s * nr * kc + p * nr + jj], "strip " + s + " p " + p + " col " + jj);
                }
            }
        }
        // input-gradient orientation: op(W)(p, j) = W(p, j)
        java.util.Arrays.fill(bp, Float.NaN);
        QuantPacking.packB(w, false, 150, 20, 5, 30, bp, nr, pairs, false);
        for (int s = 0; s < 2; s++) {
            for (int p = 0; p < 30; p++) {
                for (int jj = 0; jj < nr; jj++) {
                    int j = s * nr + jj;
                    float want = j < 20 ? w.get(5 + p, 150 + j) : 0f;
                    assertEquals(want, bp[s * nr * 30 + p * nr + jj], "strip " + s + " p " + p + " col " + jj);
                }
            }
        }
    }

    @Test
    void wholeStripsInsideOneBlockTakeTheStripInputGradientPathsWithTheSameBits() {
        // cols a multiple of the blocksize and 32-aligned full strips: the inline path of packB (transB = false)
        // (and, on 512-bit machines, VectorDecode512.decodeStrip: 16 bytes per k step through the codebook permute),
        // starting mid-block at j0 = 96 for blocks of 64 and 128; a last 4-wide strip takes the element path
        Random rnd = new Random(23);
        boolean[] vecModes = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512
                ? new boolean[] {false, true}
                : new boolean[] {false};
        for (boolean vec : vecModes)
            for (boolean dq : new boolean[] {true, false})
                for (int bs : new int[] {32, 64, 128}) {
                    QuantizedMatrix w = RandomWeights.fourBit(rnd, QuantType.NF4, 70, 256, bs, dq);
                    float[] pairs = new float[512];
                    QuantPacking.pairTable(w.codeData(), pairs);
                    int nr = 32, kc = 41, p0 = 7, j0 = 96, nc = 100; // three full strips and a 4-wide one
                    float[] bp = new float[4 * nr * kc];
                    java.util.Arrays.fill(bp, Float.NaN);
                    QuantPacking.packB(w, false, j0, nc, p0, kc, bp, nr, pairs, vec);
                    for (int s = 0; s < 4; s++) {
                        for (int p = 0; p < kc; p++) {
                            for (int jj = 0; jj < nr; jj++) {
                                int j = s * nr + jj;
                                float want = j < nc ? w.get(p0 + p, j0 + j) : 0f;
                                float got = bp[s * nr * kc + p * nr + jj];
                                assertEquals(
                                        Float.floatToIntBits(want),
                                        Float.floatToIntBits(got),
                                        "vector " + vec + " dq " + dq + " bs " + bs + " strip " + s + " p " + p
                                                + " col " + jj);
                            }
                        }
                    }
                }
    }

    @Test
    void forwardStripsTakeTheVectorTransposeWithTheSameBits() {
        // op(W) = W^T, full 32-wide strips, k slices at multiples of 32 inside blocks of 32, 64 and 128: the packed
        // codes of 16 rows are transposed in registers, then looked up with the codebook permute. kc 224: by k chunks,
        // the
        // first (128 at 128) through VectorDecode512.decodeTransposedWide (absmax per 32 k steps), the second (96)
        // through decodeTransposed; kc 256: the whole slice 16 rows at a time through decodeTransposedWide
        org.junit.jupiter.api.Assumptions.assumeTrue(
                FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512,
                "the vector decoder needs 512-bit vectors (the scalar paths are covered above)");
        Random rnd = new Random(24);
        for (int bs : new int[] {32, 64, 128}) {
            for (boolean dq : new boolean[] {true, false}) {
                QuantizedMatrix w = RandomWeights.fourBit(rnd, QuantType.NF4, 100, 384, bs, dq);
                float[] pairs = new float[512];
                QuantPacking.pairTable(w.codeData(), pairs);
                for (int kc : new int[] {224, 256}) {
                    int nr = 32, j0 = 32, nc = 68, p0 = 128; // two full strips and a 4-wide one
                    float[] bp = new float[3 * nr * kc];
                    java.util.Arrays.fill(bp, Float.NaN);
                    QuantPacking.packB(w, true, j0, nc, p0, kc, bp, nr, pairs, true);
                    for (int st = 0; st < 3; st++) {
                        for (int p = 0; p < kc; p++) {
                            for (int jj = 0; jj < nr; jj++) {
                                int j = st * nr + jj;
                                float want = j < nc ? w.get(j0 + j, p0 + p) : 0f;
                                float got = bp[st * nr * kc + p * nr + jj];
                                assertEquals(
                                        Float.floatToIntBits(want),
                                        Float.floatToIntBits(got),
                                        "bs " + bs + " dq " + dq + " kc " + kc + " strip " + st + " p " + p + " col "
                                                + jj);
                            }
                        }
                    }
                }
            }
        }
    }
}
