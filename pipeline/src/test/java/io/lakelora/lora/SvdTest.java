package io.lakelora.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lakelora.util.Rng;
import org.junit.jupiter.api.Test;

class SvdTest {

    private static void assertOrthonormalColumns(double[] q, int rows, int cols, double tol) {
        for (int a = 0; a < cols; a++) {
            for (int b = 0; b < cols; b++) {
                double d = 0;
                for (int i = 0; i < rows; i++) d += q[i * cols + a] * q[i * cols + b];
                assertEquals(a == b ? 1.0 : 0.0, d, tol, "column " + a + " . column " + b);
            }
        }
    }

    @Test
    void textbookTwoByThree() {
        // A = [[3, 2, 2], [2, 3, -2]] has singular values 5 and 3 (a standard worked example: A A^T = [[17, 8], [8,
        // 17]],
        // eigenvalues 25 and 9), u1 = (1, 1)/sqrt(2), v1 = (1, 1, 0)/sqrt(2).
        double[] a = {3, 2, 2, 2, 3, -2};
        Svd.Result r = Svd.thin(a, 2, 3);
        assertArrayEquals(new double[] {5, 3}, r.s(), 1e-12);
        double h = 1 / Math.sqrt(2);
        double sign = Math.signum(r.u()[0]);
        assertArrayEquals(new double[] {h, h}, new double[] {sign * r.u()[0], sign * r.u()[2]}, 1e-12);
        assertArrayEquals(
                new double[] {h, h, 0}, new double[] {sign * r.vt()[0], sign * r.vt()[1], sign * r.vt()[2]}, 1e-12);
        assertArrayEquals(a, r.reconstruct(2), 1e-12);
        // transposed input: same singular values
        assertArrayEquals(
                new double[] {5, 3}, Svd.thin(Svd.transpose(a, 2, 3), 3, 2).s(), 1e-12);
    }

    @Test
    void recoversKnownFactors() {
        // U: the first 3 columns of the Householder reflector I - 2 vv^T / v^T v, v = (1, 2, 3, 4) (orthonormal);
        // V: rotation by 0.3 rad about the z axis then 0.7 rad about the x axis; S = (10, 3, 0.5).
        double[] v = {1, 2, 3, 4};
        double vv = 30;
        double[] u = new double[4 * 3];
        for (int i = 0; i < 4; i++) for (int j = 0; j < 3; j++) u[i * 3 + j] = (i == j ? 1 : 0) - 2 * v[i] * v[j] / vv;
        double c1 = Math.cos(0.3), s1 = Math.sin(0.3), c2 = Math.cos(0.7), s2 = Math.sin(0.7);
        double[] rz = {c1, -s1, 0, s1, c1, 0, 0, 0, 1};
        double[] rx = {1, 0, 0, 0, c2, -s2, 0, s2, c2};
        double[] vm = Svd.matmul(rx, 3, 3, rz, 3);
        double[] s = {10, 3, 0.5};
        double[] us = new double[12];
        for (int i = 0; i < 4; i++) for (int j = 0; j < 3; j++) us[i * 3 + j] = u[i * 3 + j] * s[j];
        double[] a = Svd.matmul(us, 4, 3, Svd.transpose(vm, 3, 3), 3);

        Svd.Result r = Svd.thin(a, 4, 3);
        assertArrayEquals(s, r.s(), 1e-12);
        assertOrthonormalColumns(r.u(), 4, 3, 1e-12);
        assertOrthonormalColumns(Svd.transpose(r.vt(), 3, 3), 3, 3, 1e-12);
        for (int t = 0; t < 3; t++) {
            double dot = 0;
            for (int i = 0; i < 4; i++) dot += r.u()[i * 3 + t] * u[i * 3 + t];
            assertEquals(1.0, Math.abs(dot), 1e-12, "left singular vector " + t + " up to sign");
            double dv = 0;
            for (int i = 0; i < 3; i++) dv += r.vt()[t * 3 + i] * vm[i * 3 + t];
            assertEquals(1.0, Math.abs(dv), 1e-12, "right singular vector " + t + " up to sign");
            assertEquals(Math.signum(dot), Math.signum(dv), "u and v flip together");
        }
    }

    @Test
    void rankDeficientOuterProduct() {
        // x y^T has the single singular value |x| |y| = sqrt(14) * sqrt(5).
        double[] x = {1, 2, 3};
        double[] y = {2, 0, -1, 0};
        double[] a = new double[12];
        for (int i = 0; i < 3; i++) for (int j = 0; j < 4; j++) a[i * 4 + j] = x[i] * y[j];
        Svd.Result r = Svd.thin(a, 3, 4);
        assertEquals(Math.sqrt(14) * Math.sqrt(5), r.s()[0], 1e-12);
        assertEquals(0, r.s()[1], 1e-12);
        assertEquals(0, r.s()[2], 1e-12);
        assertArrayEquals(a, r.reconstruct(1), 1e-12);
    }

    @Test
    void lowRankIsExactOnAnExactlyLowRankMatrix() {
        Rng rng = new Rng(7);
        int m = 40, n = 30, k = 3;
        double[] l = new double[m * k];
        double[] rr = new double[k * n];
        for (int i = 0; i < l.length; i++) l[i] = rng.nextGaussian();
        for (int i = 0; i < rr.length; i++) rr[i] = rng.nextGaussian();
        double[] a = Svd.matmul(l, m, k, rr, n);
        Svd.Result exact = Svd.thin(a, m, n);
        Svd.Result approx = Svd.lowRank(a, m, n, k, 0, new Rng(1));
        for (int t = 0; t < k; t++) assertEquals(exact.s()[t], approx.s()[t], 1e-9 * exact.s()[0]);
        assertArrayEquals(a, approx.reconstruct(k), 1e-9 * exact.s()[0]);
        assertOrthonormalColumns(approx.u(), m, k, 1e-12);
        assertThrows(IllegalArgumentException.class, () -> Svd.lowRank(a, m, n, 31, 0, new Rng(1)));
    }

    @Test
    void lowRankPowerIterationsConvergeToTheTopSingularValues() {
        Rng rng = new Rng(11);
        int m = 50, n = 40;
        double[] a = new double[m * n];
        for (int i = 0; i < a.length; i++) a[i] = rng.nextGaussian();
        for (int i = 0; i < Math.min(m, n); i++) a[i * n + i] += 20 * (5 - Math.min(i, 5)); // a dominant top-5
        Svd.Result exact = Svd.thin(a, m, n);
        Svd.Result approx = Svd.lowRank(a, m, n, 4, 6, new Rng(3));
        for (int t = 0; t < 4; t++) assertEquals(exact.s()[t], approx.s()[t], 1e-6 * exact.s()[0], "sigma " + t);
    }
}
