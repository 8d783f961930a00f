package io.lakelora.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Packing of 12-row A strips (the AVX-512 micro-kernel's) with 512-bit vectors: 16 k steps of the 12 rows are loaded
 * as 12 vectors (plus 4 zero rows), transposed in registers (four butterfly stages of lane rotations and blends) and
 * stored as 16 groups of 12, each store 16 lanes wide: the 4 extra lanes (zeros) are overwritten by the next store,
 * so a block writes 4 floats past its end, which the caller must allow.
 *
 * <p>The transpose runs on the floats' bits as integer lanes, with {@link VectorDecode512}'s integer shuffles and
 * masks, so that every rearrange in the process goes through one shuffle class; the butterfly is written out here
 * rather than shared, so that its vectors never come from another method (where Java 17's C2 loses their exact type).
 *
 * <p>Measured alternatives: docs/kernels.md.
 */
final class PackVector512 {
    private PackVector512() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = VectorDecode512.I;
    private static final float[] ZEROS = new float[16];

    /** Whether this JVM's preferred vectors are 512-bit (the only width this class is for). */
    static final boolean AVAILABLE = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512;

    /**
     * {@code ap[dst + q * 12 + r] = a[src + r * lda + q]} for r < 12, q < 16; also writes (zeros to)
     * {@code ap[dst + 192 .. dst + 196)}.
     */
    static void pack12x16(float[] a, int src, int lda, float[] ap, int dst) {
        IntVector v0 = (IntVector) FloatVector.fromArray(F, a, src + 0 * lda).reinterpretShape(I, 0);
        IntVector v1 = (IntVector) FloatVector.fromArray(F, a, src + 1 * lda).reinterpretShape(I, 0);
        IntVector v2 = (IntVector) FloatVector.fromArray(F, a, src + 2 * lda).reinterpretShape(I, 0);
        IntVector v3 = (IntVector) FloatVector.fromArray(F, a, src + 3 * lda).reinterpretShape(I, 0);
        IntVector v4 = (IntVector) FloatVector.fromArray(F, a, src + 4 * lda).reinterpretShape(I, 0);
        IntVector v5 = (IntVector) FloatVector.fromArray(F, a, src + 5 * lda).reinterpretShape(I, 0);
        IntVector v6 = (IntVector) FloatVector.fromArray(F, a, src + 6 * lda).reinterpretShape(I, 0);
        IntVector v7 = (IntVector) FloatVector.fromArray(F, a, src + 7 * lda).reinterpretShape(I, 0);
        IntVector v8 = (IntVector) FloatVector.fromArray(F, a, src + 8 * lda).reinterpretShape(I, 0);
        IntVector v9 = (IntVector) FloatVector.fromArray(F, a, src + 9 * lda).reinterpretShape(I, 0);
        IntVector v10 = (IntVector) FloatVector.fromArray(F, a, src + 10 * lda).reinterpretShape(I, 0);
        IntVector v11 = (IntVector) FloatVector.fromArray(F, a, src + 11 * lda).reinterpretShape(I, 0);
        IntVector v12 = (IntVector) FloatVector.fromArray(F, ZEROS, 0).reinterpretShape(I, 0);
        IntVector v13 = (IntVector) FloatVector.fromArray(F, ZEROS, 0).reinterpretShape(I, 0);
        IntVector v14 = (IntVector) FloatVector.fromArray(F, ZEROS, 0).reinterpretShape(I, 0);
        IntVector v15 = (IntVector) FloatVector.fromArray(F, ZEROS, 0).reinterpretShape(I, 0);
        IntVector t0x8 = v0.blend(v8.rearrange(VectorDecode512.ROT8), VectorDecode512.M8);
        v8 = v0.rearrange(VectorDecode512.ROTN8).blend(v8, VectorDecode512.M8);
        v0 = t0x8;
        IntVector t1x8 = v1.blend(v9.rearrange(VectorDecode512.ROT8), VectorDecode512.M8);
        v9 = v1.rearrange(VectorDecode512.ROTN8).blend(v9, VectorDecode512.M8);
        v1 = t1x8;
        IntVector t2x8 = v2.blend(v10.rearrange(VectorDecode512.ROT8), VectorDecode512.M8);
        v10 = v2.rearrange(VectorDecode512.ROTN8).blend(v10, VectorDecode512.M8);
        v2 = t2x8;
        IntVector t3x8 = v3.blend(v11.rearrange(VectorDecode512.ROT8), VectorDecode512.M8);
        v11 = v3.rearrange(VectorDecode512.ROTN8).blend(v11, VectorDecode512.M8);
        v3 = t3x8;
        IntVector t4x8 = v4.blend(v12.rearrange(VectorDecode512.ROT8), VectorDecode512.M8);
        v12 = v4.rearrange(VectorDecode512.ROTN8).blend(v12, VectorDecode512.M8);
        v4 = t4x8;
        IntVector t5x8 = v5.blend(v13.rearrange(VectorDecode512.ROT8), VectorDecode512.M8);
        v13 = v5.rearrange(VectorDecode512.ROTN8).blend(v13, VectorDecode512.M8);
        v5 = t5x8;
        IntVector t6x8 = v6.blend(v14.rearrange(VectorDecode512.ROT8), VectorDecode512.M8);
        v14 = v6.rearrange(VectorDecode512.ROTN8).blend(v14, VectorDecode512.M8);
        v6 = t6x8;
        IntVector t7x8 = v7.blend(v15.rearrange(VectorDecode512.ROT8), VectorDecode512.M8);
        v15 = v7.rearrange(VectorDecode512.ROTN8).blend(v15, VectorDecode512.M8);
        v7 = t7x8;
        IntVector t0x4 = v0.blend(v4.rearrange(VectorDecode512.ROT4), VectorDecode512.M4);
        v4 = v0.rearrange(VectorDecode512.ROTN4).blend(v4, VectorDecode512.M4);
        v0 = t0x4;
        IntVector t1x4 = v1.blend(v5.rearrange(VectorDecode512.ROT4), VectorDecode512.M4);
        v5 = v1.rearrange(VectorDecode512.ROTN4).blend(v5, VectorDecode512.M4);
        v1 = t1x4;
        IntVector t2x4 = v2.blend(v6.rearrange(VectorDecode512.ROT4), VectorDecode512.M4);
        v6 = v2.rearrange(VectorDecode512.ROTN4).blend(v6, VectorDecode512.M4);
        v2 = t2x4;
        IntVector t3x4 = v3.blend(v7.rearrange(VectorDecode512.ROT4), VectorDecode512.M4);
        v7 = v3.rearrange(VectorDecode512.ROTN4).blend(v7, VectorDecode512.M4);
        v3 = t3x4;
        IntVector t8x4 = v8.blend(v12.rearrange(VectorDecode512.ROT4), VectorDecode512.M4);
        v12 = v8.rearrange(VectorDecode512.ROTN4).blend(v12, VectorDecode512.M4);
        v8 = t8x4;
        IntVector t9x4 = v9.blend(v13.rearrange(VectorDecode512.ROT4), VectorDecode512.M4);
        v13 = v9.rearrange(VectorDecode512.ROTN4).blend(v13, VectorDecode512.M4);
        v9 = t9x4;
        IntVector t10x4 = v10.blend(v14.rearrange(VectorDecode512.ROT4), VectorDecode512.M4);
        v14 = v10.rearrange(VectorDecode512.ROTN4).blend(v14, VectorDecode512.M4);
        v10 = t10x4;
        IntVector t11x4 = v11.blend(v15.rearrange(VectorDecode512.ROT4), VectorDecode512.M4);
        v15 = v11.rearrange(VectorDecode512.ROTN4).blend(v15, VectorDecode512.M4);
        v11 = t11x4;
        IntVector t0x2 = v0.blend(v2.rearrange(VectorDecode512.ROT2), VectorDecode512.M2);
        v2 = v0.rearrange(VectorDecode512.ROTN2).blend(v2, VectorDecode512.M2);
        v0 = t0x2;
        IntVector t1x2 = v1.blend(v3.rearrange(VectorDecode512.ROT2), VectorDecode512.M2);
        v3 = v1.rearrange(VectorDecode512.ROTN2).blend(v3, VectorDecode512.M2);
        v1 = t1x2;
        IntVector t4x2 = v4.blend(v6.rearrange(VectorDecode512.ROT2), VectorDecode512.M2);
        v6 = v4.rearrange(VectorDecode512.ROTN2).blend(v6, VectorDecode512.M2);
        v4 = t4x2;
        IntVector t5x2 = v5.blend(v7.rearrange(VectorDecode512.ROT2), VectorDecode512.M2);
        v7 = v5.rearrange(VectorDecode512.ROTN2).blend(v7, VectorDecode512.M2);
        v5 = t5x2;
        IntVector t8x2 = v8.blend(v10.rearrange(VectorDecode512.ROT2), VectorDecode512.M2);
        v10 = v8.rearrange(VectorDecode512.ROTN2).blend(v10, VectorDecode512.M2);
        v8 = t8x2;
        IntVector t9x2 = v9.blend(v11.rearrange(VectorDecode512.ROT2), VectorDecode512.M2);
        v11 = v9.rearrange(VectorDecode512.ROTN2).blend(v11, VectorDecode512.M2);
        v9 = t9x2;
        IntVector t12x2 = v12.blend(v14.rearrange(VectorDecode512.ROT2), VectorDecode512.M2);
        v14 = v12.rearrange(VectorDecode512.ROTN2).blend(v14, VectorDecode512.M2);
        v12 = t12x2;
        IntVector t13x2 = v13.blend(v15.rearrange(VectorDecode512.ROT2), VectorDecode512.M2);
        v15 = v13.rearrange(VectorDecode512.ROTN2).blend(v15, VectorDecode512.M2);
        v13 = t13x2;
        IntVector t0x1 = v0.blend(v1.rearrange(VectorDecode512.ROT1), VectorDecode512.M1);
        v1 = v0.rearrange(VectorDecode512.ROTN1).blend(v1, VectorDecode512.M1);
        v0 = t0x1;
        IntVector t2x1 = v2.blend(v3.rearrange(VectorDecode512.ROT1), VectorDecode512.M1);
        v3 = v2.rearrange(VectorDecode512.ROTN1).blend(v3, VectorDecode512.M1);
        v2 = t2x1;
        IntVector t4x1 = v4.blend(v5.rearrange(VectorDecode512.ROT1), VectorDecode512.M1);
        v5 = v4.rearrange(VectorDecode512.ROTN1).blend(v5, VectorDecode512.M1);
        v4 = t4x1;
        IntVector t6x1 = v6.blend(v7.rearrange(VectorDecode512.ROT1), VectorDecode512.M1);
        v7 = v6.rearrange(VectorDecode512.ROTN1).blend(v7, VectorDecode512.M1);
        v6 = t6x1;
        IntVector t8x1 = v8.blend(v9.rearrange(VectorDecode512.ROT1), VectorDecode512.M1);
        v9 = v8.rearrange(VectorDecode512.ROTN1).blend(v9, VectorDecode512.M1);
        v8 = t8x1;
        IntVector t10x1 = v10.blend(v11.rearrange(VectorDecode512.ROT1), VectorDecode512.M1);
        v11 = v10.rearrange(VectorDecode512.ROTN1).blend(v11, VectorDecode512.M1);
        v10 = t10x1;
        IntVector t12x1 = v12.blend(v13.rearrange(VectorDecode512.ROT1), VectorDecode512.M1);
        v13 = v12.rearrange(VectorDecode512.ROTN1).blend(v13, VectorDecode512.M1);
        v12 = t12x1;
        IntVector t14x1 = v14.blend(v15.rearrange(VectorDecode512.ROT1), VectorDecode512.M1);
        v15 = v14.rearrange(VectorDecode512.ROTN1).blend(v15, VectorDecode512.M1);
        v14 = t14x1;
        ((FloatVector) v0.reinterpretShape(F, 0)).intoArray(ap, dst + 0);
        ((FloatVector) v1.reinterpretShape(F, 0)).intoArray(ap, dst + 12);
        ((FloatVector) v2.reinterpretShape(F, 0)).intoArray(ap, dst + 24);
        ((FloatVector) v3.reinterpretShape(F, 0)).intoArray(ap, dst + 36);
        ((FloatVector) v4.reinterpretShape(F, 0)).intoArray(ap, dst + 48);
        ((FloatVector) v5.reinterpretShape(F, 0)).intoArray(ap, dst + 60);
        ((FloatVector) v6.reinterpretShape(F, 0)).intoArray(ap, dst + 72);
        ((FloatVector) v7.reinterpretShape(F, 0)).intoArray(ap, dst + 84);
        ((FloatVector) v8.reinterpretShape(F, 0)).intoArray(ap, dst + 96);
        ((FloatVector) v9.reinterpretShape(F, 0)).intoArray(ap, dst + 108);
        ((FloatVector) v10.reinterpretShape(F, 0)).intoArray(ap, dst + 120);
        ((FloatVector) v11.reinterpretShape(F, 0)).intoArray(ap, dst + 132);
        ((FloatVector) v12.reinterpretShape(F, 0)).intoArray(ap, dst + 144);
        ((FloatVector) v13.reinterpretShape(F, 0)).intoArray(ap, dst + 156);
        ((FloatVector) v14.reinterpretShape(F, 0)).intoArray(ap, dst + 168);
        ((FloatVector) v15.reinterpretShape(F, 0)).intoArray(ap, dst + 180);
    }
}
