package io.lakelora.kernel;

import io.lakelora.quant.QuantizedMatrix;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * 4-bit decoding with 512-bit vectors: the 16-entry codebook sits in one register and each 16 codes are looked up with
 * one permute ({@code rearrange}), then scaled by the block's absmax. 16 packed bytes become 32 floats per step; each
 * value is {@code code[nibble] * absmax}, bit for bit the scalar table's.
 *
 * <p>The codebook is permuted as integer lanes (its float bits) with an integer shuffle, and only the result is
 * reinterpreted as floats: Java 17 compiles that to a register permute, but not a shuffle cast to the float species
 * ({@code toShuffle().cast(F)}, used before), which it ran 5x slower than the scalar table. Measured on this machine
 * (Java 17, Zen 5): 0.13-0.18 ns per value against 0.32-0.42 for the scalar pair table.
 *
 * <p>The forward's B strips (op(B) = W^T) need W's columns: {@link #decodeTransposed} decodes 16 rows along k and
 * transposes each 16 x 16 square in registers, 0.28 ns per value against 0.57 for the scalar 8-row table decoder. The
 * transpose loads its rows itself (from a scratch tile): vectors handed over from another method lose their exact
 * type in C2, whose virtual calls then ran the whole decoder 20x slower.
 */
final class VectorDecode512 {
    private VectorDecode512() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    /** Lane i of the first (second) 16 outputs reads byte i/2 (8 + i/2); even lanes take the high nibble. */
    private static final VectorShuffle<Integer> SPREAD_LO = VectorShuffle.fromOp(I, i -> i / 2);
    private static final VectorShuffle<Integer> SPREAD_HI = VectorShuffle.fromOp(I, i -> 8 + i / 2);
    private static final IntVector SHIFTS = IntVector.zero(I).addIndex(1).and(1).mul(-4).add(4);
    /** Transpose stages: lane c takes lane c - b (ROTb) or c + b (ROTNb), mod 16; Mb marks the lanes with bit b. */
    private static final VectorShuffle<Float> ROT8 = VectorShuffle.fromOp(F, c -> (c - 8) & 15);
    private static final VectorShuffle<Float> ROTN8 = VectorShuffle.fromOp(F, c -> (c + 8) & 15);
    private static final VectorMask<Float> M8 = VectorMask.fromLong(F, 0xff00L);
    private static final VectorShuffle<Float> ROT4 = VectorShuffle.fromOp(F, c -> (c - 4) & 15);
    private static final VectorShuffle<Float> ROTN4 = VectorShuffle.fromOp(F, c -> (c + 4) & 15);
    private static final VectorMask<Float> M4 = VectorMask.fromLong(F, 0xf0f0L);
    private static final VectorShuffle<Float> ROT2 = VectorShuffle.fromOp(F, c -> (c - 2) & 15);
    private static final VectorShuffle<Float> ROTN2 = VectorShuffle.fromOp(F, c -> (c + 2) & 15);
    private static final VectorMask<Float> M2 = VectorMask.fromLong(F, 0xccccL);
    private static final VectorShuffle<Float> ROT1 = VectorShuffle.fromOp(F, c -> (c - 1) & 15);
    private static final VectorShuffle<Float> ROTN1 = VectorShuffle.fromOp(F, c -> (c + 1) & 15);
    private static final VectorMask<Float> M1 = VectorMask.fromLong(F, 0xaaaaL);

    /**
     * Whether to use it by default: with 512-bit vectors preferred (system property {@code lakelora.vector.decode} =
     * {@code on} | {@code off} overrides).
     */
    static boolean worthIt() {
        String p = System.getProperty("lakelora.vector.decode", "").trim().toLowerCase();
        if (p.equals("on")) return true;
        if (p.equals("off")) return false;
        if (!p.isEmpty()) {
            throw new IllegalArgumentException("system property lakelora.vector.decode='" + p
                    + "': expected on or off (or unset: on with 512-bit vectors)");
        }
        return FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512;
    }

    /**
     * Decodes {@code 2 * 16 * steps} values from bytes {@code packed[bi ..]} (high nibble first) of one block with
     * absmax {@code s} into {@code dst[off ..]} contiguously.
     */
    static void decode(byte[] packed, int bi, int steps, float[] code, float s, float[] dst, int off) {
        IntVector table = (IntVector) FloatVector.fromArray(F, code, 0).reinterpretShape(I, 0);
        for (int t = 0; t < steps; t++) {
            IntVector bytes = (IntVector) ByteVector.fromArray(B, packed, bi + 16 * t)
                    .convertShape(VectorOperators.B2I, I, 0);
            IntVector lo = bytes.rearrange(SPREAD_LO).lanewise(VectorOperators.LSHR, SHIFTS).and(0x0f);
            IntVector hi = bytes.rearrange(SPREAD_HI).lanewise(VectorOperators.LSHR, SHIFTS).and(0x0f);
            ((FloatVector) table.rearrange(lo.toShuffle()).reinterpretShape(F, 0)).mul(s).intoArray(dst, off + 32 * t);
            ((FloatVector) table.rearrange(hi.toShuffle()).reinterpretShape(F, 0)).mul(s)
                    .intoArray(dst, off + 32 * t + 16);
        }
    }

    /**
     * One packed B strip of 32 columns for {@code kc} k steps from a 4-bit W read along its rows (input gradient,
     * op(B) = W): k step p holds W's 32 values at flat index {@code flat + p * cols}, which lie in one quantization
     * block (the caller checks), into {@code dst[off + 32 p ..]}.
     */
    static void decodeStrip(QuantizedMatrix q, long flat, int cols, int kc, float[] dst, int off) {
        byte[] packed = q.packedData();
        int bs = q.blocksize();
        IntVector table = (IntVector) FloatVector.fromArray(F, q.codeData(), 0).reinterpretShape(I, 0);
        for (int p = 0; p < kc; p++, flat += cols) {
            float s = q.blockAbsmax((int) (flat / bs));
            IntVector bytes = (IntVector) ByteVector.fromArray(B, packed, (int) (flat >>> 1))
                    .convertShape(VectorOperators.B2I, I, 0);
            IntVector lo = bytes.rearrange(SPREAD_LO).lanewise(VectorOperators.LSHR, SHIFTS).and(0x0f);
            IntVector hi = bytes.rearrange(SPREAD_HI).lanewise(VectorOperators.LSHR, SHIFTS).and(0x0f);
            int d = off + 32 * p;
            ((FloatVector) table.rearrange(lo.toShuffle()).reinterpretShape(F, 0)).mul(s).intoArray(dst, d);
            ((FloatVector) table.rearrange(hi.toShuffle()).reinterpretShape(F, 0)).mul(s).intoArray(dst, d + 16);
        }
    }

    /**
     * 16 W rows x 32 k steps of a forward strip (op(B) = W^T): values {@code flat + r * cols + p} (r < 16, p < 32, all
     * p of a row inside one quantization block: the caller checks) into {@code dst[off + p * stride + r]}. Rows are
     * decoded along k with the codebook permute into {@code tmp} (16 x 32), then transposed in registers.
     */
    static void decodeTransposed(QuantizedMatrix q, long flat, int cols, float[] tmp, float[] dst, int off,
                                 int stride) {
        byte[] packed = q.packedData();
        int bs = q.blocksize();
        IntVector table = (IntVector) FloatVector.fromArray(F, q.codeData(), 0).reinterpretShape(I, 0);
        int rowBytes = cols >>> 1;
        int blk = (int) (flat / bs), bpr = cols / bs;
        for (int r = 0, bi = (int) (flat >>> 1); r < 16; r++, bi += rowBytes) {
            float s = q.blockAbsmax(blk + r * bpr);
            IntVector bytes = (IntVector) ByteVector.fromArray(B, packed, bi).convertShape(VectorOperators.B2I, I, 0);
            IntVector lo = bytes.rearrange(SPREAD_LO).lanewise(VectorOperators.LSHR, SHIFTS).and(0x0f);
            IntVector hi = bytes.rearrange(SPREAD_HI).lanewise(VectorOperators.LSHR, SHIFTS).and(0x0f);
            ((FloatVector) table.rearrange(lo.toShuffle()).reinterpretShape(F, 0)).mul(s).intoArray(tmp, 32 * r);
            ((FloatVector) table.rearrange(hi.toShuffle()).reinterpretShape(F, 0)).mul(s).intoArray(tmp, 32 * r + 16);
        }
        transpose16(tmp, 0, dst, off, stride);
        transpose16(tmp, 16, dst, off + 16 * stride, stride);
    }

    /**
     * Transposes the 16 x 16 floats {@code src[so + r * 32 + c]} (r, c < 16) into {@code dst[off + c * stride + r]}:
     * four butterfly stages of lane rotations and blends on rows loaded here (their vector type known exactly).
     */
    static void transpose16(float[] src, int so, float[] dst, int off, int stride) {
        FloatVector v0 = FloatVector.fromArray(F, src, so + 0);
        FloatVector v1 = FloatVector.fromArray(F, src, so + 32);
        FloatVector v2 = FloatVector.fromArray(F, src, so + 64);
        FloatVector v3 = FloatVector.fromArray(F, src, so + 96);
        FloatVector v4 = FloatVector.fromArray(F, src, so + 128);
        FloatVector v5 = FloatVector.fromArray(F, src, so + 160);
        FloatVector v6 = FloatVector.fromArray(F, src, so + 192);
        FloatVector v7 = FloatVector.fromArray(F, src, so + 224);
        FloatVector v8 = FloatVector.fromArray(F, src, so + 256);
        FloatVector v9 = FloatVector.fromArray(F, src, so + 288);
        FloatVector v10 = FloatVector.fromArray(F, src, so + 320);
        FloatVector v11 = FloatVector.fromArray(F, src, so + 352);
        FloatVector v12 = FloatVector.fromArray(F, src, so + 384);
        FloatVector v13 = FloatVector.fromArray(F, src, so + 416);
        FloatVector v14 = FloatVector.fromArray(F, src, so + 448);
        FloatVector v15 = FloatVector.fromArray(F, src, so + 480);
        FloatVector t0x8 = v0.blend(v8.rearrange(ROT8), M8);
        v8 = v0.rearrange(ROTN8).blend(v8, M8);
        v0 = t0x8;
        FloatVector t1x8 = v1.blend(v9.rearrange(ROT8), M8);
        v9 = v1.rearrange(ROTN8).blend(v9, M8);
        v1 = t1x8;
        FloatVector t2x8 = v2.blend(v10.rearrange(ROT8), M8);
        v10 = v2.rearrange(ROTN8).blend(v10, M8);
        v2 = t2x8;
        FloatVector t3x8 = v3.blend(v11.rearrange(ROT8), M8);
        v11 = v3.rearrange(ROTN8).blend(v11, M8);
        v3 = t3x8;
        FloatVector t4x8 = v4.blend(v12.rearrange(ROT8), M8);
        v12 = v4.rearrange(ROTN8).blend(v12, M8);
        v4 = t4x8;
        FloatVector t5x8 = v5.blend(v13.rearrange(ROT8), M8);
        v13 = v5.rearrange(ROTN8).blend(v13, M8);
        v5 = t5x8;
        FloatVector t6x8 = v6.blend(v14.rearrange(ROT8), M8);
        v14 = v6.rearrange(ROTN8).blend(v14, M8);
        v6 = t6x8;
        FloatVector t7x8 = v7.blend(v15.rearrange(ROT8), M8);
        v15 = v7.rearrange(ROTN8).blend(v15, M8);
        v7 = t7x8;
        FloatVector t0x4 = v0.blend(v4.rearrange(ROT4), M4);
        v4 = v0.rearrange(ROTN4).blend(v4, M4);
        v0 = t0x4;
        FloatVector t1x4 = v1.blend(v5.rearrange(ROT4), M4);
        v5 = v1.rearrange(ROTN4).blend(v5, M4);
        v1 = t1x4;
        FloatVector t2x4 = v2.blend(v6.rearrange(ROT4), M4);
        v6 = v2.rearrange(ROTN4).blend(v6, M4);
        v2 = t2x4;
        FloatVector t3x4 = v3.blend(v7.rearrange(ROT4), M4);
        v7 = v3.rearrange(ROTN4).blend(v7, M4);
        v3 = t3x4;
        FloatVector t8x4 = v8.blend(v12.rearrange(ROT4), M4);
        v12 = v8.rearrange(ROTN4).blend(v12, M4);
        v8 = t8x4;
        FloatVector t9x4 = v9.blend(v13.rearrange(ROT4), M4);
        v13 = v9.rearrange(ROTN4).blend(v13, M4);
        v9 = t9x4;
        FloatVector t10x4 = v10.blend(v14.rearrange(ROT4), M4);
        v14 = v10.rearrange(ROTN4).blend(v14, M4);
        v10 = t10x4;
        FloatVector t11x4 = v11.blend(v15.rearrange(ROT4), M4);
        v15 = v11.rearrange(ROTN4).blend(v15, M4);
        v11 = t11x4;
        FloatVector t0x2 = v0.blend(v2.rearrange(ROT2), M2);
        v2 = v0.rearrange(ROTN2).blend(v2, M2);
        v0 = t0x2;
        FloatVector t1x2 = v1.blend(v3.rearrange(ROT2), M2);
        v3 = v1.rearrange(ROTN2).blend(v3, M2);
        v1 = t1x2;
        FloatVector t4x2 = v4.blend(v6.rearrange(ROT2), M2);
        v6 = v4.rearrange(ROTN2).blend(v6, M2);
        v4 = t4x2;
        FloatVector t5x2 = v5.blend(v7.rearrange(ROT2), M2);
        v7 = v5.rearrange(ROTN2).blend(v7, M2);
        v5 = t5x2;
        FloatVector t8x2 = v8.blend(v10.rearrange(ROT2), M2);
        v10 = v8.rearrange(ROTN2).blend(v10, M2);
        v8 = t8x2;
        FloatVector t9x2 = v9.blend(v11.rearrange(ROT2), M2);
        v11 = v9.rearrange(ROTN2).blend(v11, M2);
        v9 = t9x2;
        FloatVector t12x2 = v12.blend(v14.rearrange(ROT2), M2);
        v14 = v12.rearrange(ROTN2).blend(v14, M2);
        v12 = t12x2;
        FloatVector t13x2 = v13.blend(v15.rearrange(ROT2), M2);
        v15 = v13.rearrange(ROTN2).blend(v15, M2);
        v13 = t13x2;
        FloatVector t0x1 = v0.blend(v1.rearrange(ROT1), M1);
        v1 = v0.rearrange(ROTN1).blend(v1, M1);
        v0 = t0x1;
        FloatVector t2x1 = v2.blend(v3.rearrange(ROT1), M1);
        v3 = v2.rearrange(ROTN1).blend(v3, M1);
        v2 = t2x1;
        FloatVector t4x1 = v4.blend(v5.rearrange(ROT1), M1);
        v5 = v4.rearrange(ROTN1).blend(v5, M1);
        v4 = t4x1;
        FloatVector t6x1 = v6.blend(v7.rearrange(ROT1), M1);
        v7 = v6.rearrange(ROTN1).blend(v7, M1);
        v6 = t6x1;
        FloatVector t8x1 = v8.blend(v9.rearrange(ROT1), M1);
        v9 = v8.rearrange(ROTN1).blend(v9, M1);
        v8 = t8x1;
        FloatVector t10x1 = v10.blend(v11.rearrange(ROT1), M1);
        v11 = v10.rearrange(ROTN1).blend(v11, M1);
        v10 = t10x1;
        FloatVector t12x1 = v12.blend(v13.rearrange(ROT1), M1);
        v13 = v12.rearrange(ROTN1).blend(v13, M1);
        v12 = t12x1;
        FloatVector t14x1 = v14.blend(v15.rearrange(ROT1), M1);
        v15 = v14.rearrange(ROTN1).blend(v15, M1);
        v14 = t14x1;
        v0.intoArray(dst, off + 0 * stride);
        v1.intoArray(dst, off + 1 * stride);
        v2.intoArray(dst, off + 2 * stride);
        v3.intoArray(dst, off + 3 * stride);
        v4.intoArray(dst, off + 4 * stride);
        v5.intoArray(dst, off + 5 * stride);
        v6.intoArray(dst, off + 6 * stride);
        v7.intoArray(dst, off + 7 * stride);
        v8.intoArray(dst, off + 8 * stride);
        v9.intoArray(dst, off + 9 * stride);
        v10.intoArray(dst, off + 10 * stride);
        v11.intoArray(dst, off + 11 * stride);
        v12.intoArray(dst, off + 12 * stride);
        v13.intoArray(dst, off + 13 * stride);
        v14.intoArray(dst, off + 14 * stride);
        v15.intoArray(dst, off + 15 * stride);
    }
}
