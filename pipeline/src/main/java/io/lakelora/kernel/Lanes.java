package io.lakelora.kernel;

import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
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

    /** ((l0 + l1) + (l2 + l3)) + ... : a fixed pairwise tree over the lanes, identical in every execution mode. */
    public static float sum(FloatVector v) {
        int n = v.length();
        if (n == 16) {
            float a = (v.lane(0) + v.lane(1)) + (v.lane(2) + v.lane(3));
            float b = (v.lane(4) + v.lane(5)) + (v.lane(6) + v.lane(7));
            float c = (v.lane(8) + v.lane(9)) + (v.lane(10) + v.lane(11));
            float d = (v.lane(12) + v.lane(13)) + (v.lane(14) + v.lane(15));
            return (a + b) + (c + d);
        }
        if (n == 8) {
            return ((v.lane(0) + v.lane(1)) + (v.lane(2) + v.lane(3))) + ((v.lane(4) + v.lane(5)) + (v.lane(6) + v.lane(7)));
        }
        float s = 0f;
        for (int i = 0; i < n; i++) s += v.lane(i);
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
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    /** A scratch buffer for {@link #exp(FloatVector, byte[])}: the bytes of the widest vector. */
    public static byte[] scratch() {
        return new byte[64];
    }

    /** e^x per lane, deterministic (see the class comment); allocates its scratch (use the two-argument form in loops). */
    public static FloatVector exp(FloatVector x) {
        return exp(x, scratch());
    }

    /**
     * e^x per lane, deterministic (see the class comment); 0 below about -87.7, clamped to e^88.03 above.
     * Cephes' expf: n = rint(x log2 e) from the 1.5 * 2^23 rounding trick, r = x - n ln 2 in two parts, a degree-6
     * polynomial, times 2^n built in the exponent field.
     *
     * <p>On Java 17-19 the float-to-int steps go through {@code buf} (a vector store and load): there neither
     * {@code convert(F2I)} nor {@code reinterpretAsInts()} is reliably a compiler intrinsic (their fallback allocates
     * per call and made exp ~15% of a training step), while vector loads and stores of byte arrays are.
     *
     * @param buf at least {@code x.byteSize()} bytes of scratch ({@link #scratch()})
     */
    public static FloatVector exp(FloatVector x, byte[] buf) {
        FloatVector xc = x.max(MIN_X).min(MAX_X);
        FloatVector m = xc.mul(LOG2E).add(ROUND);   // bits(m) = bits(ROUND) + n, n = rint(x log2 e) in [-127, 127]
        FloatVector t = m.sub(ROUND);                // n as a float, exactly
        FloatVector r = xc.sub(t.mul(C1)).sub(t.mul(C2)); // x - n ln 2 in [-ln2/2, ln2/2]
        FloatVector z = r.mul(r);
        FloatVector y = r.mul(1.9875691500E-4f).add(1.3981999507E-3f);
        y = y.mul(r).add(8.3334519073E-3f);
        y = y.mul(r).add(4.1665795894E-2f);
        y = y.mul(r).add(1.6666665459E-1f);
        y = y.mul(r).add(5.0000001201E-1f);
        y = y.mul(z).add(r).add(1f);
        // 2^n: (bits(m) + 127) << 23 == (n + 127) << 23 (mod 2^32: bits(ROUND) << 23 overflows to 0)
        if (!BYTE_ROUND_TRIP) {
            return y.mul(m.reinterpretAsInts().add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats());
        }
        m.intoByteArray(buf, 0, NATIVE);
        VectorSpecies<Integer> si = x.length() == 16 ? IntVector.SPECIES_512
                : x.length() == 8 ? IntVector.SPECIES_256 : IntVector.SPECIES_128;
        IntVector.fromByteArray(si, buf, 0, NATIVE).add(127).lanewise(VectorOperators.LSHL, 23)
                .intoByteArray(buf, 0, NATIVE);
        return y.mul(FloatVector.fromByteArray(x.species(), buf, 0, NATIVE));
    }

    /**
     * Java 17-19: the bits go through a byte array. Java 20+ removed the byte-array vector methods (memory segments
     * replaced them) and compiles {@code reinterpretAsInts} as an intrinsic, so it is used there; this branch is
     * never taken on those runtimes, so the missing methods are never linked.
     */
    private static final boolean BYTE_ROUND_TRIP = Runtime.version().feature() < 20;
}
