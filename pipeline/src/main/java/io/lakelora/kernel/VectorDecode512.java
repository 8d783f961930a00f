package io.lakelora.kernel;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * 4-bit decoding with 512-bit vectors: the 16-entry codebook, scaled by the block's absmax, sits in one register and
 * each 16 codes are looked up with one permute ({@code rearrange}). 16 packed bytes become 32 floats per step.
 *
 * <p>Only worth it where {@code rearrange} compiles to a permute: measured on this machine (4096 x 4096 NF4), Java 17
 * 29-31 ms against 6 ms for the scalar pair table, Java 25 3 ms against 6.7 ms. {@link #worthIt()} therefore enables
 * it from Java 20 on (system property {@code lakelora.vector.decode} = {@code on} | {@code off} overrides).
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

    /** Whether to use it by default: 512-bit vectors preferred and a JVM whose rearrange is fast (20+). */
    static boolean worthIt() {
        String p = System.getProperty("lakelora.vector.decode", "").trim().toLowerCase();
        if (p.equals("on")) return true;
        if (p.equals("off")) return false;
        if (!p.isEmpty()) {
            throw new IllegalArgumentException("system property lakelora.vector.decode='" + p
                    + "': expected on or off (or unset: on from Java 20 with 512-bit vectors)");
        }
        return Runtime.version().feature() >= 20 && FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512;
    }

    /**
     * Decodes {@code 2 * 16 * steps} values from bytes {@code packed[bi ..]} (high nibble first) of one block with
     * absmax {@code s} into {@code dst[off ..]} contiguously.
     */
    static void decode(byte[] packed, int bi, int steps, float[] code, float s, float[] dst, int off) {
        FloatVector table = FloatVector.fromArray(F, code, 0).mul(s);
        for (int t = 0; t < steps; t++) {
            IntVector bytes = (IntVector) ByteVector.fromArray(B, packed, bi + 16 * t)
                    .convertShape(VectorOperators.B2I, I, 0);
            IntVector lo = bytes.rearrange(SPREAD_LO).lanewise(VectorOperators.LSHR, SHIFTS).and(0x0f);
            IntVector hi = bytes.rearrange(SPREAD_HI).lanewise(VectorOperators.LSHR, SHIFTS).and(0x0f);
            table.rearrange(lo.toShuffle().cast(F)).intoArray(dst, off + 32 * t);
            table.rearrange(hi.toShuffle().cast(F)).intoArray(dst, off + 32 * t + 16);
        }
    }
}
