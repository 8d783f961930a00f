package io.lakelora.kernel;

import static io.lakelora.kernel.MathOpsTest.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The Vector API {@link MathOps} against the {@link ScalarMathOps} specification, every operation, on random inputs
 * of lengths with and without partial vectors (and past {@code swiglu}'s 4096-element chunk). With u = 2^-24 (fp32
 * unit roundoff), the bounds are the first-order error bounds of the two computations added together:
 *
 * <ul>
 *   <li>{@code max}, {@code scale}, {@code mulShifted}: bit-identical (the same single IEEE operations per element);
 *   <li>{@code dot}, {@code dot3}: the sums differ only in order (per lane with FMA, then across lanes, vs. left to
 *       right), each within n u sum|terms| of the exact value, so |vector - scalar| <= (2n + 4) u sum|terms|;
 *   <li>{@code expShiftSum}: each value within 6 u of the other's (the vector exp is within 2 ulp of exp, ulp <= 2u
 *       relative), the sum within (2n + 8) u sum;
 *   <li>{@code swiglu}: 16 u relative per element; its backward 32 u times the size of the terms
 *       {@code |dh u s| (1 + |g|)} (silu's derivative crosses zero near g = -1.28, so no relative bound);
 *   <li>RMSNorm: r from a C-term sum of squares, so (C + 8) u relative on the output; the backward's row dot product as
 *       {@code dot3}, propagated through {@code k = dot r^3 / C}, plus 4 u of the terms of each update.
 * </ul>
 */
class MathOpsParityTest {
    static final double U = 0x1p-24;
    static final int[] LENGTHS = {1, 5, 15, 16, 17, 63, 64, 100, 771, 4096 + 67};
    final MathOps scalar = ScalarMathOps.INSTANCE;
    final MathOps vector = new VectorKernels(1).math();

    @Test
    void maxScaleAndMulShiftedAreBitIdentical() {
        SplittableRandom r = new SplittableRandom(1);
        for (int n : LENGTHS) {
            float[] x = randn(r, n + 5, 3.0);
            assertEquals(bits(scalar.max(x, 3, n)), bits(vector.max(x, 3, n)), "max n=" + n);
            float[] a = x.clone(), b = x.clone();
            scalar.scale(a, 3, n, 0.37f);
            vector.scale(b, 3, n, 0.37f);
            assertBitsEqual(a, b, "scale n=" + n);
            float[] p = randn(r, n + 1, 1.0);
            a = x.clone();
            b = x.clone();
            scalar.mulShifted(a, 2, p, 1, n, -0.61f);
            vector.mulShifted(b, 2, p, 1, n, -0.61f);
            assertBitsEqual(a, b, "mulShifted n=" + n);
        }
    }

    @Test
    void expShiftSumWithinTheSummationBound() {
        SplittableRandom r = new SplittableRandom(2);
        for (int n : LENGTHS) {
            float[] x = randn(r, n + 4, 3.0);
            float shift = scalar.max(x, 2, n);
            float[] a = x.clone(), b = x.clone();
            float sa = scalar.expShiftSum(a, 2, n, shift);
            float sb = vector.expShiftSum(b, 2, n, shift);
            for (int i = 2; i < 2 + n; i++) within(a[i], b[i], 6 * U * Math.abs(a[i]), "exp n=" + n + " [" + i + "]");
            within(sa, sb, (2.0 * n + 8) * U * sa, "expShiftSum n=" + n);
            assertBitsEqual(
                    java.util.Arrays.copyOfRange(x, 2 + n, x.length),
                    java.util.Arrays.copyOfRange(b, 2 + n, x.length),
                    "untouched after the range");
        }
    }

    @Test
    void dotAndDot3WithinTheSummationBound() {
        SplittableRandom r = new SplittableRandom(3);
        for (int n : LENGTHS) {
            float[] a = randn(r, n + 3, 1.0);
            float[] b = randn(r, n + 1, 1.0);
            float[] w = randn(r, n, 1.0);
            double abs2 = 0, abs3 = 0;
            for (int i = 0; i < n; i++) {
                abs2 += Math.abs((double) a[3 + i] * b[1 + i]);
                abs3 += Math.abs((double) a[3 + i] * w[i] * b[1 + i]);
            }
            within(scalar.dot(a, 3, b, 1, n), vector.dot(a, 3, b, 1, n), (2.0 * n + 4) * U * abs2, "dot n=" + n);
            within(
                    scalar.dot3(a, 3, w, b, 1, n),
                    vector.dot3(a, 3, w, b, 1, n),
                    (2.0 * n + 4) * U * abs3,
                    "dot3 n=" + n);
        }
    }

    @Test
    void swigluAndItsBackwardWithinElementBounds() {
        SplittableRandom r = new SplittableRandom(4);
        for (int n : LENGTHS) {
            int off = 64; // a range split over threads starts at a multiple of 64
            float[] g = randn(r, off + n, 5.0);
            float[] u = randn(r, off + n, 1.0);
            float[] dh = randn(r, off + n, 1.0);
            float[] ha = new float[off + n], hb = new float[off + n];
            scalar.swiglu(ha, g, u, off, n);
            vector.swiglu(hb, g, u, off, n);
            float[] dga = new float[off + n], dua = new float[off + n];
            float[] dgb = new float[off + n], dub = new float[off + n];
            scalar.swigluBackward(dga, dua, dh, g, u, off, n);
            vector.swigluBackward(dgb, dub, dh, g, u, off, n);
            for (int i = off; i < off + n; i++) {
                String at = "n=" + n + " [" + i + "] g=" + g[i];
                within(ha[i], hb[i], 16 * U * Math.abs(ha[i]), "swiglu " + at);
                within(dua[i], dub[i], 16 * U * Math.abs(dua[i]), "swiglu du " + at);
                double s = 1 / (1 + Math.exp(-g[i]));
                double terms = Math.abs(dh[i] * u[i] * s) * (1 + Math.abs(g[i]));
                within(dga[i], dgb[i], 32 * U * terms, "swiglu dg " + at);
            }
        }
    }

    /**
     * gelu-tanh gate: the scalar specification computes PyTorch's {@code 0.5 g (1 + tanh z)}, the vector one
     * {@code g sigmoid(2z)}; {@code 1 + tanh z} cancels for negative z (absolute error u), so the bound is absolute at
     * the scale of the terms: 16 u |g u| forward, 64 u |dh u| (1 + |g| beta (1 + 3 kappa g^2)) backward.
     */
    @Test
    void geluTanhGateAndItsBackwardWithinElementBounds() {
        SplittableRandom r = new SplittableRandom(5);
        for (int n : LENGTHS) {
            int off = 64;
            float[] g = randn(r, off + n, 4.0);
            float[] u = randn(r, off + n, 1.0);
            float[] dh = randn(r, off + n, 1.0);
            float[] ha = new float[off + n], hb = new float[off + n];
            scalar.geluTanhGate(ha, g, u, off, n);
            vector.geluTanhGate(hb, g, u, off, n);
            float[] dga = new float[off + n], dua = new float[off + n];
            float[] dgb = new float[off + n], dub = new float[off + n];
            scalar.geluTanhGateBackward(dga, dua, dh, g, u, off, n);
            vector.geluTanhGateBackward(dgb, dub, dh, g, u, off, n);
            for (int i = off; i < off + n; i++) {
                String at = "n=" + n + " [" + i + "] g=" + g[i];
                double x = g[i];
                // PyTorch's formula in double, to check the specification itself
                double want = 0.5 * x * (1 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))) * u[i];
                within(want, ha[i], 16 * U * Math.abs(x * u[i]), "gelu scalar vs double " + at);
                within(ha[i], hb[i], 16 * U * Math.abs(x * u[i]), "gelu " + at);
                within(dua[i], dub[i], 16 * U * Math.abs(x * dh[i]), "gelu du " + at);
                double terms = Math.abs(dh[i] * u[i]) * (1 + Math.abs(x) * 0.8 * (1 + 3 * 0.044715 * x * x));
                within(dga[i], dgb[i], 64 * U * terms, "gelu dg " + at);
            }
        }
    }

    @Test
    void rmsNormRowsWithinTheirBounds() {
        SplittableRandom r = new SplittableRandom(5);
        for (int C : new int[] {7, 64, 768, 771}) {
            int N = 3;
            float[] x = randn(r, 2 + N * C, 1.0);
            float[] w = randn(r, C, 1.0);
            float[] dout = randn(r, N * C, 1.0);
            float[] prior = randn(r, 1 + N * C, 1.0);
            float[] oa = new float[N * C], ob = new float[N * C];
            float[] ra = new float[1 + N], rb = new float[1 + N];
            scalar.rmsNormForward(oa, 0, ra, 1, x, 2, w, N, C, 1e-5f);
            vector.rmsNormForward(ob, 0, rb, 1, x, 2, w, N, C, 1e-5f);
            for (int n = 0; n < N; n++) {
                within(ra[1 + n], rb[1 + n], (C + 4) * U * ra[1 + n], "rstd C=" + C + " row " + n);
                for (int c = 0; c < C; c++) {
                    int i = n * C + c;
                    within(oa[i], ob[i], (C + 8) * U * Math.abs(oa[i]), "rmsnorm C=" + C + " [" + i + "]");
                }
            }
            // the backward from the same cached rstd, accumulating into the same prior gradient
            float[] da = prior.clone(), db = prior.clone();
            scalar.rmsNormBackward(da, 1, dout, 0, x, 2, w, ra, 1, N, C);
            vector.rmsNormBackward(db, 1, dout, 0, x, 2, w, ra, 1, N, C);
            for (int n = 0; n < N; n++) {
                double rr = ra[1 + n];
                double absDot = 0, dot = 0;
                for (int c = 0; c < C; c++) {
                    double t = (double) dout[n * C + c] * w[c] * x[2 + n * C + c];
                    absDot += Math.abs(t);
                    dot += t;
                }
                double k = dot * rr * rr * rr / C;
                double kErr = (2.0 * C + 4) * U * absDot * rr * rr * rr / C + 2 * U * Math.abs(k);
                for (int c = 0; c < C; c++) {
                    int i = 1 + n * C + c;
                    double xv = x[2 + n * C + c];
                    double terms = Math.abs(w[c] * dout[n * C + c] * rr) + Math.abs(xv * k) + Math.abs(prior[i]);
                    within(
                            da[i],
                            db[i],
                            Math.abs(xv) * kErr + 4 * U * terms,
                            "rmsnorm backward C=" + C + " [" + i + "]");
                }
            }
            assertEquals(prior[0], da[0], 0f, "untouched before the offset");
        }
    }

    /** |a - b| <= bound, with room for values in the subnormal range. */
    static void within(double a, double b, double bound, String what) {
        double d = Math.abs(a - b);
        assertTrue(
                d <= bound + Float.MIN_NORMAL,
                what + ": scalar " + a + " vector " + b + ", |diff| " + d + " > bound " + bound);
    }

    static int bits(float f) {
        return Float.floatToRawIntBits(f);
    }

    static void assertBitsEqual(float[] a, float[] b, String what) {
        assertEquals(a.length, b.length, what);
        for (int i = 0; i < a.length; i++) assertEquals(bits(a[i]), bits(b[i]), what + " [" + i + "]");
    }
}
