package io.lakelora.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Both {@link MathOps} (the {@link ScalarMathOps} specification and the Vector API one) against plain
 * double-precision loops, for lengths that cover full vectors and tails; {@link MathOpsParityTest} holds the two to
 * each other.
 */
class MathOpsTest {
    static MathOps ops(String backend) {
        return TestBackends.of(backend).math();
    }

    /** n normal values of standard deviation std. */
    static float[] randn(SplittableRandom r, int n, double std) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float)
                    (std * Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble()));
        }
        return x;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void maxIsMathMaxOnNaNsZerosAndInfinities(String backend) {
        MathOps ops = ops(backend);
        // the integer-key max against a Math.max fold: NaN of either sign anywhere (full vectors and the scalar tail)
        // gives NaN, +0 beats -0, infinities are ordinary values
        float negNaN = Float.intBitsToFloat(0xffc00000); // x86's default NaN
        float[][] specials = {
            {Float.NaN},
            {negNaN},
            {-0f, 0f},
            {0f, -0f},
            {-0f},
            {Float.POSITIVE_INFINITY},
            {Float.NEGATIVE_INFINITY},
            {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY},
            {-Float.MAX_VALUE},
            {Float.MIN_VALUE, -Float.MIN_VALUE}
        };
        SplittableRandom r = new SplittableRandom(2);
        for (int n : new int[] {1, 15, 16, 17, 31, 32, 33, 48, 100}) {
            for (float[] sp : specials) {
                for (int at : new int[] {0, n / 2, n - 1}) {
                    float[] x = randn(r, n + 2, 3.0);
                    for (int i = 0; i < x.length; i++) x[i] = -Math.abs(x[i]) - 1f; // all below the specials
                    for (int j = 0; j < sp.length && at + j < n; j++) x[1 + at + j] = sp[j];
                    float want = Float.NEGATIVE_INFINITY;
                    for (int i = 0; i < n; i++) want = Math.max(want, x[1 + i]);
                    float got = ops.max(x, 1, n);
                    assertEquals(
                            Float.floatToIntBits(want),
                            Float.floatToIntBits(got),
                            "n=" + n + " specials " + java.util.Arrays.toString(sp) + " at " + at + ": " + got
                                    + " vs Math.max " + want);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void reductionsAndExpAgreeWithScalarLoops(String backend) {
        MathOps ops = ops(backend);
        SplittableRandom r = new SplittableRandom(1);
        for (int n = 1; n <= 70; n += 3) {
            float[] x = randn(r, n + 8, 4.0); // 5 before the range, 3 after it
            int off = 5;
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) max = Math.max(max, x[off + i]);
            assertEquals(max, ops.max(x, off, n), 0.0, "max n=" + n);
            double sum = 0;
            double[] e = new double[n];
            for (int i = 0; i < n; i++) sum += e[i] = Math.exp(x[off + i] - (float) max); // fp32 argument, as the code
            float[] y = x.clone();
            assertEquals(sum, ops.expShiftSum(y, off, n, (float) max), 1e-6 * sum);
            for (int i = 0; i < n; i++) assertEquals(e[i], y[off + i], 1e-6 * e[i] + 1e-37);
            for (int i = off + n; i < x.length; i++) assertEquals(x[i], y[i], 0f, "untouched after the range");
            float[] z = x.clone();
            ops.scale(z, off, n, 0.5f);
            for (int i = 0; i < n; i++) assertEquals(0.5f * x[off + i], z[off + i], 0f);
            float[] p = randn(r, n, 1.0);
            float[] w = x.clone();
            ops.mulShifted(w, off, p, 0, n, 0.25f);
            for (int i = 0; i < n; i++) assertEquals(p[i] * (x[off + i] - 0.25f), w[off + i], 0f, "mulShifted n=" + n);
            double dot = 0;
            for (int i = 0; i < n; i++) dot += (double) x[off + i] * x[i];
            assertEquals(dot, ops.dot(x, off, x, 0, n), 1e-5 * (1 + Math.abs(dot)));
            for (int i = 0; i < off; i++) assertEquals(x[i], y[i], 0f, "untouched before off");
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void swigluMatchesScalarFormula(String backend) {
        MathOps ops = ops(backend);
        SplittableRandom r = new SplittableRandom(2);
        int n = 37;
        float[] g = randn(r, n, 5.0);
        float[] u = randn(r, n, 1.0);
        float[] dh = randn(r, n, 1.0);
        float[] h = new float[n];
        float[] dg = new float[n];
        float[] du = new float[n];
        ops.swiglu(h, g, u, 0, n);
        ops.swigluBackward(dg, du, dh, g, u, 0, n);
        for (int i = 0; i < n; i++) {
            double s = 1 / (1 + Math.exp(-g[i]));
            assertEquals(g[i] * s * u[i], h[i], 1e-6 * (1 + Math.abs(h[i])));
            assertEquals(dh[i] * g[i] * s, du[i], 1e-6 * (1 + Math.abs(du[i])));
            assertEquals(dh[i] * u[i] * s * (1 + g[i] * (1 - s)), dg[i], 1e-6 * (1 + Math.abs(dg[i])));
        }
    }
}
