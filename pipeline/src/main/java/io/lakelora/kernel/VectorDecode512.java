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
 * one permute ({@code selectFrom}), then scaled by the block's absmax. 16 packed bytes become 32 floats per step; each
 * value is {@code code[nibble] * absmax}, bit for bit the scalar table's. The codebook is permuted as integer lanes,
 * the forward's W^T strips transpose the packed codes of 16 rows in registers ({@link #decodeTransposedWide}), and
 * every vector is loaded in the method that uses it: the forms Java 17's C2 compiles to register code. Needs
 * {@code -XX:PerMethodTrapLimit=1000} (bin/jvm.args).
 *
 * <p>Measured alternatives: docs/kernels.md.
 */
final class VectorDecode512 {
    private VectorDecode512() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    private static final VectorSpecies<Byte> W = ByteVector.SPECIES_512;
    /** Lane i of the first (second) 16 outputs reads byte i/2 (8 + i/2); even lanes take the high nibble. */
    private static final VectorShuffle<Integer> SPREAD_LO = VectorShuffle.fromOp(I, i -> i / 2);

    private static final VectorShuffle<Integer> SPREAD_HI = VectorShuffle.fromOp(I, i -> 8 + i / 2);
    private static final IntVector SHIFTS =
            IntVector.zero(I).addIndex(1).and(1).mul(-4).add(4);
    /**
     * Transpose stages: lane c takes lane c - b (ROTb) or c + b (ROTNb), mod 16; Mb marks the lanes with bit b. Shared
     * with {@link PackVector512}: all rearranges of the process use this one integer shuffle class (see there).
     */
    static final VectorShuffle<Integer> ROT8 = VectorShuffle.fromOp(I, c -> (c - 8) & 15);

    static final VectorShuffle<Integer> ROTN8 = VectorShuffle.fromOp(I, c -> (c + 8) & 15);
    static final VectorMask<Integer> M8 = VectorMask.fromLong(I, 0xff00L);
    static final VectorShuffle<Integer> ROT4 = VectorShuffle.fromOp(I, c -> (c - 4) & 15);
    static final VectorShuffle<Integer> ROTN4 = VectorShuffle.fromOp(I, c -> (c + 4) & 15);
    static final VectorMask<Integer> M4 = VectorMask.fromLong(I, 0xf0f0L);
    static final VectorShuffle<Integer> ROT2 = VectorShuffle.fromOp(I, c -> (c - 2) & 15);
    static final VectorShuffle<Integer> ROTN2 = VectorShuffle.fromOp(I, c -> (c + 2) & 15);
    static final VectorMask<Integer> M2 = VectorMask.fromLong(I, 0xccccL);
    static final VectorShuffle<Integer> ROT1 = VectorShuffle.fromOp(I, c -> (c - 1) & 15);
    static final VectorShuffle<Integer> ROTN1 = VectorShuffle.fromOp(I, c -> (c + 1) & 15);
    static final VectorMask<Integer> M1 = VectorMask.fromLong(I, 0xaaaaL);

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
            IntVector bytes =
                    (IntVector) ByteVector.fromArray(B, packed, bi + 16 * t).convertShape(VectorOperators.B2I, I, 0);
            IntVector lo = bytes.rearrange(SPREAD_LO)
                    .lanewise(VectorOperators.LSHR, SHIFTS)
                    .and(0x0f);
            IntVector hi = bytes.rearrange(SPREAD_HI)
                    .lanewise(VectorOperators.LSHR, SHIFTS)
                    .and(0x0f);
            ((FloatVector) lo.selectFrom(table).reinterpretShape(F, 0)).mul(s).intoArray(dst, off + 32 * t);
            ((FloatVector) hi.selectFrom(table).reinterpretShape(F, 0)).mul(s).intoArray(dst, off + 32 * t + 16);
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
        // cols is a multiple of bs (the caller checks): each k step is cols / bs blocks further, no division per step
        int blk = (int) (flat / bs), bpr = cols / bs;
        for (int p = 0; p < kc; p++, flat += cols, blk += bpr) {
            float s = q.blockAbsmax(blk);
            IntVector bytes = (IntVector)
                    ByteVector.fromArray(B, packed, (int) (flat >>> 1)).convertShape(VectorOperators.B2I, I, 0);
            IntVector lo = bytes.rearrange(SPREAD_LO)
                    .lanewise(VectorOperators.LSHR, SHIFTS)
                    .and(0x0f);
            IntVector hi = bytes.rearrange(SPREAD_HI)
                    .lanewise(VectorOperators.LSHR, SHIFTS)
                    .and(0x0f);
            int d = off + 32 * p;
            ((FloatVector) lo.selectFrom(table).reinterpretShape(F, 0)).mul(s).intoArray(dst, d);
            ((FloatVector) hi.selectFrom(table).reinterpretShape(F, 0)).mul(s).intoArray(dst, d + 16);
        }
    }

    /**
     * 16 W rows x 32 k steps of a forward strip (op(B) = W^T): values {@code flat + r * cols + p} (r < 16, p < 32, all
     * p of a row inside one quantization block: the caller checks) into {@code dst[off + p * stride + r]}. The packed
     * codes are transposed first ({@link #transpose16}: byte t of the 16 rows, one int lane per row), after which
     * vector t holds k steps 2t (high nibbles) and 2t + 1 (low nibbles) of all 16 rows, and is looked up and scaled by
     * the rows' absmax (one lane each). One transpose per 512 values, on the codes, rather than two on the decoded
     * floats. {@code tmp}: scratch of at least 16 floats (the rows' absmax); {@code codes}: of at least 256 ints.
     */
    static void decodeTransposed(
            QuantizedMatrix q, long flat, int cols, float[] tmp, int[] codes, float[] dst, int off, int stride) {
        byte[] packed = q.packedData();
        int bs = q.blocksize();
        int rowBytes = cols >>> 1;
        int blk = (int) (flat / bs), bpr = cols / bs;
        for (int r = 0; r < 16; r++) tmp[r] = q.blockAbsmax(blk + r * bpr);
        int bi = (int) (flat >>> 1);
        for (int r = 0; r < 16; r++) {
            ((IntVector) ByteVector.fromArray(B, packed, bi + r * rowBytes).convertShape(VectorOperators.B2I, I, 0))
                    .intoArray(codes, 16 * r);
        }
        transpose16(codes);
        float[] code = q.codeData();
        for (int t = 0; t < 16; t++) {
            // loaded in the loop: no vector live across a back edge (see decodeTransposedWide)
            IntVector table = (IntVector) FloatVector.fromArray(F, code, 0).reinterpretShape(I, 0);
            IntVector v = IntVector.fromArray(I, codes, 16 * t);
            FloatVector sv = FloatVector.fromArray(F, tmp, 0);
            ((FloatVector) v.lanewise(VectorOperators.LSHR, 4)
                            .and(0x0f)
                            .selectFrom(table)
                            .reinterpretShape(F, 0))
                    .mul(sv)
                    .intoArray(dst, off + 2 * t * stride);
            ((FloatVector) v.and(0x0f).selectFrom(table).reinterpretShape(F, 0))
                    .mul(sv)
                    .intoArray(dst, off + (2 * t + 1) * stride);
        }
    }

    /**
     * Transposes the 16 x 16 ints of {@code codes} in place (row r at {@code 16 r}) through registers: a butterfly of
     * four stages, lane c taking lane c -+ b of the partner row (ROTb / ROTNb) where mask Mb has bit b. The rows are
     * loaded and stored here, in the method that transposes them: vectors handed over from another method lose their
     * exact type in C2 (measured 20x slower).
     */
    private static void transpose16(int[] codes) {
        IntVector v0 = IntVector.fromArray(I, codes, 0);
        IntVector v1 = IntVector.fromArray(I, codes, 16);
        IntVector v2 = IntVector.fromArray(I, codes, 32);
        IntVector v3 = IntVector.fromArray(I, codes, 48);
        IntVector v4 = IntVector.fromArray(I, codes, 64);
        IntVector v5 = IntVector.fromArray(I, codes, 80);
        IntVector v6 = IntVector.fromArray(I, codes, 96);
        IntVector v7 = IntVector.fromArray(I, codes, 112);
        IntVector v8 = IntVector.fromArray(I, codes, 128);
        IntVector v9 = IntVector.fromArray(I, codes, 144);
        IntVector v10 = IntVector.fromArray(I, codes, 160);
        IntVector v11 = IntVector.fromArray(I, codes, 176);
        IntVector v12 = IntVector.fromArray(I, codes, 192);
        IntVector v13 = IntVector.fromArray(I, codes, 208);
        IntVector v14 = IntVector.fromArray(I, codes, 224);
        IntVector v15 = IntVector.fromArray(I, codes, 240);
        IntVector t0x8 = v0.blend(v8.rearrange(ROT8), M8);
        v8 = v0.rearrange(ROTN8).blend(v8, M8);
        v0 = t0x8;
        IntVector t1x8 = v1.blend(v9.rearrange(ROT8), M8);
        v9 = v1.rearrange(ROTN8).blend(v9, M8);
        v1 = t1x8;
        IntVector t2x8 = v2.blend(v10.rearrange(ROT8), M8);
        v10 = v2.rearrange(ROTN8).blend(v10, M8);
        v2 = t2x8;
        IntVector t3x8 = v3.blend(v11.rearrange(ROT8), M8);
        v11 = v3.rearrange(ROTN8).blend(v11, M8);
        v3 = t3x8;
        IntVector t4x8 = v4.blend(v12.rearrange(ROT8), M8);
        v12 = v4.rearrange(ROTN8).blend(v12, M8);
        v4 = t4x8;
        IntVector t5x8 = v5.blend(v13.rearrange(ROT8), M8);
        v13 = v5.rearrange(ROTN8).blend(v13, M8);
        v5 = t5x8;
        IntVector t6x8 = v6.blend(v14.rearrange(ROT8), M8);
        v14 = v6.rearrange(ROTN8).blend(v14, M8);
        v6 = t6x8;
        IntVector t7x8 = v7.blend(v15.rearrange(ROT8), M8);
        v15 = v7.rearrange(ROTN8).blend(v15, M8);
        v7 = t7x8;
        IntVector t0x4 = v0.blend(v4.rearrange(ROT4), M4);
        v4 = v0.rearrange(ROTN4).blend(v4, M4);
        v0 = t0x4;
        IntVector t1x4 = v1.blend(v5.rearrange(ROT4), M4);
        v5 = v1.rearrange(ROTN4).blend(v5, M4);
        v1 = t1x4;
        IntVector t2x4 = v2.blend(v6.rearrange(ROT4), M4);
        v6 = v2.rearrange(ROTN4).blend(v6, M4);
        v2 = t2x4;
        IntVector t3x4 = v3.blend(v7.rearrange(ROT4), M4);
        v7 = v3.rearrange(ROTN4).blend(v7, M4);
        v3 = t3x4;
        IntVector t8x4 = v8.blend(v12.rearrange(ROT4), M4);
        v12 = v8.rearrange(ROTN4).blend(v12, M4);
        v8 = t8x4;
        IntVector t9x4 = v9.blend(v13.rearrange(ROT4), M4);
        v13 = v9.rearrange(ROTN4).blend(v13, M4);
        v9 = t9x4;
        IntVector t10x4 = v10.blend(v14.rearrange(ROT4), M4);
        v14 = v10.rearrange(ROTN4).blend(v14, M4);
        v10 = t10x4;
        IntVector t11x4 = v11.blend(v15.rearrange(ROT4), M4);
        v15 = v11.rearrange(ROTN4).blend(v15, M4);
        v11 = t11x4;
        IntVector t0x2 = v0.blend(v2.rearrange(ROT2), M2);
        v2 = v0.rearrange(ROTN2).blend(v2, M2);
        v0 = t0x2;
        IntVector t1x2 = v1.blend(v3.rearrange(ROT2), M2);
        v3 = v1.rearrange(ROTN2).blend(v3, M2);
        v1 = t1x2;
        IntVector t4x2 = v4.blend(v6.rearrange(ROT2), M2);
        v6 = v4.rearrange(ROTN2).blend(v6, M2);
        v4 = t4x2;
        IntVector t5x2 = v5.blend(v7.rearrange(ROT2), M2);
        v7 = v5.rearrange(ROTN2).blend(v7, M2);
        v5 = t5x2;
        IntVector t8x2 = v8.blend(v10.rearrange(ROT2), M2);
        v10 = v8.rearrange(ROTN2).blend(v10, M2);
        v8 = t8x2;
        IntVector t9x2 = v9.blend(v11.rearrange(ROT2), M2);
        v11 = v9.rearrange(ROTN2).blend(v11, M2);
        v9 = t9x2;
        IntVector t12x2 = v12.blend(v14.rearrange(ROT2), M2);
        v14 = v12.rearrange(ROTN2).blend(v14, M2);
        v12 = t12x2;
        IntVector t13x2 = v13.blend(v15.rearrange(ROT2), M2);
        v15 = v13.rearrange(ROTN2).blend(v15, M2);
        v13 = t13x2;
        IntVector t0x1 = v0.blend(v1.rearrange(ROT1), M1);
        v1 = v0.rearrange(ROTN1).blend(v1, M1);
        v0 = t0x1;
        IntVector t2x1 = v2.blend(v3.rearrange(ROT1), M1);
        v3 = v2.rearrange(ROTN1).blend(v3, M1);
        v2 = t2x1;
        IntVector t4x1 = v4.blend(v5.rearrange(ROT1), M1);
        v5 = v4.rearrange(ROTN1).blend(v5, M1);
        v4 = t4x1;
        IntVector t6x1 = v6.blend(v7.rearrange(ROT1), M1);
        v7 = v6.rearrange(ROTN1).blend(v7, M1);
        v6 = t6x1;
        IntVector t8x1 = v8.blend(v9.rearrange(ROT1), M1);
        v9 = v8.rearrange(ROTN1).blend(v9, M1);
        v8 = t8x1;
        IntVector t10x1 = v10.blend(v11.rearrange(ROT1), M1);
        v11 = v10.rearrange(ROTN1).blend(v11, M1);
        v10 = t10x1;
        IntVector t12x1 = v12.blend(v13.rearrange(ROT1), M1);
        v13 = v12.rearrange(ROTN1).blend(v13, M1);
        v12 = t12x1;
        IntVector t14x1 = v14.blend(v15.rearrange(ROT1), M1);
        v15 = v14.rearrange(ROTN1).blend(v15, M1);
        v14 = t14x1;
        v0.intoArray(codes, 0);
        v1.intoArray(codes, 16);
        v2.intoArray(codes, 32);
        v3.intoArray(codes, 48);
        v4.intoArray(codes, 64);
        v5.intoArray(codes, 80);
        v6.intoArray(codes, 96);
        v7.intoArray(codes, 112);
        v8.intoArray(codes, 128);
        v9.intoArray(codes, 144);
        v10.intoArray(codes, 160);
        v11.intoArray(codes, 176);
        v12.intoArray(codes, 192);
        v13.intoArray(codes, 208);
        v14.intoArray(codes, 224);
        v15.intoArray(codes, 240);
    }

    /**
     * 16 W rows x 128 k steps of a forward strip (op(B) = W^T), as {@link #decodeTransposed} but with 64 bytes per row
     * loaded as 16 integer lanes (eight codes each): after the 16 x 16 integer transpose ({@link #transpose16}),
     * vector j holds k steps 8j .. 8j+7 of all 16 rows, each taken out with one shift: a quarter of the transposes per
     * value, 0.22 -> 0.15 ns per value. Every 32 k steps of each row lie inside one quantization block (the caller
     * checks: blocksize and the start a multiple of 32). {@code tmp}: scratch of at least 64 floats (the rows' absmax
     * per 32 k steps); {@code codes}: scratch of at least 256 ints (the transposed codes).
     *
     * <p>No vector is live across a loop's back edge: the codes go through {@code codes} and each loop body loads what
     * it uses (an on-stack-replacement compile entering at the loop would see a carried vector without its exact
     * type).
     */
    static void decodeTransposedWide(
            QuantizedMatrix q, long flat, int cols, float[] tmp, int[] codes, float[] dst, int off, int stride) {
        byte[] packed = q.packedData();
        int bs = q.blocksize();
        int rowBytes = cols >>> 1;
        int bpr = cols / bs;
        for (int qt = 0; qt < 4; qt++) {
            int blk = (int) ((flat + 32 * qt) / bs);
            for (int r = 0; r < 16; r++) tmp[16 * qt + r] = q.blockAbsmax(blk + r * bpr);
        }
        int bi = (int) (flat >>> 1);
        for (int r = 0; r < 16; r++) {
            ByteVector.fromArray(W, packed, bi + r * rowBytes)
                    .reinterpretAsInts()
                    .intoArray(codes, 16 * r);
        }
        transpose16(codes);
        float[] code = q.codeData();
        for (int j = 0; j < 16; j++) {
            // k step 8j + m is byte m/2 of int lane j, the high nibble when m is even
            IntVector table = (IntVector) FloatVector.fromArray(F, code, 0).reinterpretShape(I, 0);
            IntVector v = IntVector.fromArray(I, codes, 16 * j);
            FloatVector sv = FloatVector.fromArray(F, tmp, 16 * (j >>> 2));
            int d = off + 8 * j * stride;
            ((FloatVector) v.lanewise(VectorOperators.LSHR, 4)
                            .and(0x0f)
                            .selectFrom(table)
                            .reinterpretShape(F, 0))
                    .mul(sv)
                    .intoArray(dst, d + 0 * stride);
            ((FloatVector) v.and(0x0f).selectFrom(table).reinterpretShape(F, 0))
                    .mul(sv)
                    .intoArray(dst, d + 1 * stride);
            ((FloatVector) v.lanewise(VectorOperators.LSHR, 12)
                            .and(0x0f)
                            .selectFrom(table)
                            .reinterpretShape(F, 0))
                    .mul(sv)
                    .intoArray(dst, d + 2 * stride);
            ((FloatVector) v.lanewise(VectorOperators.LSHR, 8)
                            .and(0x0f)
                            .selectFrom(table)
                            .reinterpretShape(F, 0))
                    .mul(sv)
                    .intoArray(dst, d + 3 * stride);
            ((FloatVector) v.lanewise(VectorOperators.LSHR, 20)
                            .and(0x0f)
                            .selectFrom(table)
                            .reinterpretShape(F, 0))
                    .mul(sv)
                    .intoArray(dst, d + 4 * stride);
            ((FloatVector) v.lanewise(VectorOperators.LSHR, 16)
                            .and(0x0f)
                            .selectFrom(table)
                            .reinterpretShape(F, 0))
                    .mul(sv)
                    .intoArray(dst, d + 5 * stride);
            ((FloatVector) v.lanewise(VectorOperators.LSHR, 28)
                            .selectFrom(table)
                            .reinterpretShape(F, 0))
                    .mul(sv)
                    .intoArray(dst, d + 6 * stride);
            ((FloatVector) v.lanewise(VectorOperators.LSHR, 24)
                            .and(0x0f)
                            .selectFrom(table)
                            .reinterpretShape(F, 0))
                    .mul(sv)
                    .intoArray(dst, d + 7 * stride);
        }
    }
}
