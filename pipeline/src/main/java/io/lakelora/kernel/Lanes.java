package io.lakelora.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.Vector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Deterministic horizontal sums. {@code FloatVector.reduceLanes(ADD)} leaves the order of the additions unspecified,
 * and the interpreter's fallback and the JIT's intrinsic do differ, so the same call can round differently before and
 * after compilation (seen: training gradients differing in the 7th digit between a cold and a warm JVM). Training must
 * be bit-reproducible on one machine, so every floating-point sum over lanes goes through this fixed order.
 * The same holds for {@code lanewise(EXP)} (an SVML intrinsic when compiled, {@code Math.exp} per lane before):
 * {@link #exp} computes exp from exact IEEE operations only (Cephes' expf: range reduction by ln 2 and a degree-6
 * polynomial, about 1-2 ulp), so it gives the same bits in every execution mode.
 */
public final class Lanes {
    private Lanes() {}

    /**
     * ((l0 + l1) + (l2 + l3)) + ... : a fixed pairwise tree over {@code l[0, n)}, n a power of two (a vector's lanes,
     * stored by the caller), identical in every execution mode. Callers store their accumulator themselves: on Java 17
     * {@code lane(i)} of a 512-bit vector is not a compiler intrinsic, and a vector passed to a method that is not
     * inlined loses its exact type there, after which C2 falls back to per-lane code for the store too.
     */
    public static float sum(float[] l, int n) {
        if (n == 16) {
            float a = (l[0] + l[1]) + (l[2] + l[3]);
            float b = (l[4] + l[5]) + (l[6] + l[7]);
            float c = (l[8] + l[9]) + (l[10] + l[11]);
            float d = (l[12] + l[13]) + (l[14] + l[15]);
            return (a + b) + (c + d);
        }
        if (n == 8) return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
        float s = 0f;
        for (int i = 0; i < n; i++) s += l[i];
        return s;
    }

    private static final float LOG2E = 1.44269504088896341f;
    private static final float C1 = 0.693359375f;
    private static final float C2 = -2.12194440e-4f;
    /** ln(2^127): above this, 2^n would overflow the exponent field; e^x is clamped to e^MAX_X (~1.7e38). */
    private static final float MAX_X = 88.02969193111305f;
    /** Below this, n = -127 and 2^n is built as +0 (flush to zero): e^x is 0 from about -87.7 down. */
    private static final float MIN_X = -88f;
    /** 1.5 * 2^23: adding it to |v| < 2^22 rounds v to the nearest integer, held in the low mantissa bits. */
    private static final float ROUND = 12582912f;

    /**
     * e^x per lane, deterministic (see the class comment); 0 below about -87.7, clamped to e^88.03 above.
     * Cephes' expf: n = rint(x log2 e) from the 1.5 * 2^23 rounding trick, r = x - n ln 2 in two parts, a degree-6
     * polynomial, times 2^n built in the exponent field.
     *
     * <p>The bits of 2^n come from a reinterpreting shape change, a register move when compiled. On Java 17 that
     * intrinsic needs constant species and the integer vector class loaded before the caller is compiled, else it
     * falls back to an allocating copy per call, and every vector op downstream of it loses its exact type and falls
     * back too: the species are named as constants and the static initializer below loads the class. (A store and
     * reload through a byte array, used before, stalls on store forwarding when the scratch straddles a cache line:
     * SwiGLU ran 3x slower in a training step.) The Horner steps are fused multiply-adds: 1 ulp worst case against
     * {@code Math.exp} (LanesTest), and less compiled code, which keeps callers under C2's inlining limits.
     */
    public static FloatVector exp(FloatVector x) {
        return expClamped(x, x.max(MIN_X).min(MAX_X));
    }

    /**
     * {@link #exp} for inputs at most 0 or -infinity (a softmax's {@code x - max}), the same bits on every such input.
     * The lower clamp is done on the integer bits: with the sign bit flipped, a signed minimum against the key of
     * MIN_X clamps every negative float (-infinity included) and leaves +0 and -0 alone, three integer operations
     * where Java 17 compiles the NaN-aware float {@code max} to a much longer sequence (the softmax pass ran 1.6x
     * faster). No upper clamp: larger inputs are outside the contract. A NaN input may come back as 0 (a negative NaN
     * is clamped like -infinity): callers take the shift from a NaN-propagating max, so a row holding a NaN has a
     * NaN shift and its normalisation (by a zero sum, or a NaN max in the loss) still ends in NaN.
     */
    public static FloatVector expNonPositive(FloatVector x) {
        VectorSpecies<Integer> si = x.length() == 16
                ? IntVector.SPECIES_512
                : x.length() == 8 ? IntVector.SPECIES_256 : IntVector.SPECIES_128;
        IntVector b = ((IntVector) x.reinterpretShape(si, 0))
                .lanewise(VectorOperators.XOR, SIGN_BIT)
                .min(MIN_X_KEY)
                .lanewise(VectorOperators.XOR, SIGN_BIT);
        return expClamped(x, (FloatVector) b.reinterpretShape(x.species(), 0));
    }

    private static final int SIGN_BIT = 0x80000000;
    /** The bits of MIN_X with the sign flipped: the largest key a clamped negative input may keep. */
    private static final int MIN_X_KEY = Float.floatToRawIntBits(MIN_X) ^ SIGN_BIT;

    /** e^x from {@code xc}, x clamped to [MIN_X, MAX_X] (see {@link #exp}). */
    private static FloatVector expClamped(FloatVector x, FloatVector xc) {
        FloatVector m = xc.mul(LOG2E).add(ROUND); // bits(m) = bits(ROUND) + n, n = rint(x log2 e) in [-127, 127]
        FloatVector t = m.sub(ROUND); // n as a float, exactly
        FloatVector r = t.fma(t.broadcast(-C1), xc); // x - n ln 2 in [-ln2/2, ln2/2], in two parts
        r = t.fma(t.broadcast(-C2), r);
        FloatVector z = r.mul(r);
        FloatVector y = r.fma(1.9875691500E-4f, 1.3981999507E-3f); // Horner steps as fused multiply-adds
        y = y.fma(r, y.broadcast(8.3334519073E-3f));
        y = y.fma(r, y.broadcast(4.1665795894E-2f));
        y = y.fma(r, y.broadcast(1.6666665459E-1f));
        y = y.fma(r, y.broadcast(5.0000001201E-1f));
        y = y.fma(z, r).add(1f);
        // 2^n: (bits(m) + 127) << 23 == (n + 127) << 23 (mod 2^32: bits(ROUND) << 23 overflows to 0)
        // (the species named as constants: reinterpretAsInts() looks its species up, which C2 does not always fold)
        VectorSpecies<Integer> si = x.length() == 16
                ? IntVector.SPECIES_512
                : x.length() == 8 ? IntVector.SPECIES_256 : IntVector.SPECIES_128;
        Vector<Integer> p2 = ((IntVector) m.reinterpretShape(si, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return y.mul((FloatVector) p2.reinterpretShape(x.species(), 0));
    }

    static {
        // load the integer vector class of the process's shape (see exp): C2 only intrinsifies conversions between
        // loaded boxes. Only that shape: vectors of a second shape make the Vector API's call-site profiles
        // polymorphic, which Java 17's C2 punishes with per-lane fallbacks.
        // The process's one shape is the configured width (VectorKernels.configuredSpecies), not the CPU's preferred.
        VectorSpecies<Float> sf = VectorKernels.configuredSpecies();
        VectorSpecies<Integer> si = sf.vectorBitSize() == 512
                ? IntVector.SPECIES_512
                : sf.vectorBitSize() == 256 ? IntVector.SPECIES_256 : IntVector.SPECIES_128;
        IntVector.zero(si).add(1).reinterpretShape(sf, 0).reinterpretShape(si, 0);
    }
}
