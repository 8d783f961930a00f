package io.lakelora.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

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
    private static final float MIN_X = -87.3365447504019f;
    /** 1.5 * 2^23: adding it to |v| < 2^22 rounds v to the nearest integer, held in the low mantissa bits. */
    private static final float ROUND = 12582912f;
    private static final int ROUND_BITS = 0x4B400000;

    /**
     * e^x per lane, deterministic (see the class comment); 0 below -87.34, clamped to e^88.03 above.
     *
     * <p>n = rint(x log2 e) comes from the 1.5 * 2^23 rounding trick, not from a float-to-int lane conversion: on
     * Java 17, {@code convert(F2I)} is not a compiler intrinsic and falls back to per-lane Java code, which made this
     * function ~15% of a training step.
     */
    public static FloatVector exp(FloatVector x) {
        VectorMask<Float> under = x.compare(VectorOperators.LT, MIN_X);
        FloatVector xc = x.max(MIN_X).min(MAX_X);
        FloatVector m = xc.mul(LOG2E).add(ROUND);   // ROUND + n, n = rint(x log2 e) in [-126, 127]
        FloatVector t = m.sub(ROUND);                // n as a float, exactly
        FloatVector r = xc.sub(t.mul(C1)).sub(t.mul(C2)); // x - n ln 2 in [-ln2/2, ln2/2]
        FloatVector z = r.mul(r);
        FloatVector y = r.mul(1.9875691500E-4f).add(1.3981999507E-3f);
        y = y.mul(r).add(8.3334519073E-3f);
        y = y.mul(r).add(4.1665795894E-2f);
        y = y.mul(r).add(1.6666665459E-1f);
        y = y.mul(r).add(5.0000001201E-1f);
        y = y.mul(z).add(r).add(1f);
        IntVector n = m.reinterpretAsInts().sub(ROUND_BITS);
        FloatVector pow2n = n.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return y.mul(pow2n).blend(0f, under);
    }
}
