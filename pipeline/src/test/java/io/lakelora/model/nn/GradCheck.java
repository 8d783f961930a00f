package io.lakelora.model.nn;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

/**
 * Finite-difference gradient checks in double precision: the oracle is a central difference of a DOUBLE forward
 * (written in the test from the HF formulas), compared with the fp32 analytic backward under test.
 */
public final class GradCheck {
    private GradCheck() {}

    /** Central differences of f at x (x is restored), step h. */
    public static double[] numeric(ToDoubleFunction<double[]> f, double[] x, double h) {
        double[] g = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double old = x[i];
            x[i] = old + h;
            double fp = f.applyAsDouble(x);
            x[i] = old - h;
            double fm = f.applyAsDouble(x);
            x[i] = old;
            g[i] = (fp - fm) / (2 * h);
        }
        return g;
    }

    /**
     * Asserts max |analytic - numeric| <= tol * max(|numeric|) over the tensor (a relative error at the tensor's scale),
     * printing the first values and the max difference as llm.c's test does. Fails on an all-zero numeric gradient
     * (a check that cannot fail is no check).
     */
    public static void assertClose(String name, float[] analytic, int off, double[] numeric, double tol) {
        double maxRef = 0;
        double maxDiff = 0;
        int worst = 0;
        for (int i = 0; i < numeric.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(numeric[i]));
            double d = Math.abs(analytic[off + i] - numeric[i]);
            if (d > maxDiff) {
                maxDiff = d;
                worst = i;
            }
        }
        StringBuilder sb = new StringBuilder(name).append(": first ");
        for (int i = 0; i < Math.min(3, numeric.length); i++) {
            sb.append(String.format("%.6g/%.6g ", analytic[off + i], numeric[i]));
        }
        double rel = maxRef == 0 ? Double.NaN : maxDiff / maxRef;
        sb.append(String.format("| max|diff| %.3g at %d, max|grad| %.3g, rel %.3g", maxDiff, worst, maxRef, rel));
        System.out.println(sb);
        assertTrue(maxRef > 0, name + ": numeric gradient is all zero, the check would prove nothing");
        assertTrue(rel <= tol, sb.toString());
    }

    public static float[] randn(SplittableRandom r, int n, double std) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (std * gauss(r));
        return x;
    }

    public static double gauss(SplittableRandom r) {
        return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
    }

    public static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) d[i] = x[i];
        return d;
    }

    public static double dot(double[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }
}
