package io.lakelora.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Packing of 12-row A strips (the AVX-512 micro-kernel's) with 512-bit vectors: 16 k steps of the 12 rows are loaded
 * as 12 vectors (plus 4 zero rows), transposed in registers (four butterfly stages of lane rotations and blends) and
 * stored as 16 groups of 12, each store 16 lanes wide: the 4 extra lanes (zeros) are overwritten by the next store,
 * so a block writes 4 floats past its end, which the caller must allow.
 */
final class PackVector512 {
    private PackVector512() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final float[] ZEROS = new float[16];
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

    /** Whether this JVM's preferred vectors are 512-bit (the only width this class is for). */
    static final boolean AVAILABLE = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512;

    /**
     * {@code ap[dst + q * 12 + r] = a[src + r * lda + q]} for r < 12, q < 16; also writes (zeros to)
     * {@code ap[dst + 192 .. dst + 196)}.
     */
    static void pack12x16(float[] a, int src, int lda, float[] ap, int dst) {
        FloatVector v0 = FloatVector.fromArray(F, a, src + 0 * lda);
        FloatVector v1 = FloatVector.fromArray(F, a, src + 1 * lda);
        FloatVector v2 = FloatVector.fromArray(F, a, src + 2 * lda);
        FloatVector v3 = FloatVector.fromArray(F, a, src + 3 * lda);
        FloatVector v4 = FloatVector.fromArray(F, a, src + 4 * lda);
        FloatVector v5 = FloatVector.fromArray(F, a, src + 5 * lda);
        FloatVector v6 = FloatVector.fromArray(F, a, src + 6 * lda);
        FloatVector v7 = FloatVector.fromArray(F, a, src + 7 * lda);
        FloatVector v8 = FloatVector.fromArray(F, a, src + 8 * lda);
        FloatVector v9 = FloatVector.fromArray(F, a, src + 9 * lda);
        FloatVector v10 = FloatVector.fromArray(F, a, src + 10 * lda);
        FloatVector v11 = FloatVector.fromArray(F, a, src + 11 * lda);
        FloatVector v12 = FloatVector.fromArray(F, ZEROS, 0);
        FloatVector v13 = FloatVector.fromArray(F, ZEROS, 0);
        FloatVector v14 = FloatVector.fromArray(F, ZEROS, 0);
        FloatVector v15 = FloatVector.fromArray(F, ZEROS, 0);
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
        v0.intoArray(ap, dst + 0);
        v1.intoArray(ap, dst + 12);
        v2.intoArray(ap, dst + 24);
        v3.intoArray(ap, dst + 36);
        v4.intoArray(ap, dst + 48);
        v5.intoArray(ap, dst + 60);
        v6.intoArray(ap, dst + 72);
        v7.intoArray(ap, dst + 84);
        v8.intoArray(ap, dst + 96);
        v9.intoArray(ap, dst + 108);
        v10.intoArray(ap, dst + 120);
        v11.intoArray(ap, dst + 132);
        v12.intoArray(ap, dst + 144);
        v13.intoArray(ap, dst + 156);
        v14.intoArray(ap, dst + 168);
        v15.intoArray(ap, dst + 180);
    }
}
