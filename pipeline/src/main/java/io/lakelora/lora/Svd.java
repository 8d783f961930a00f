package io.lakelora.lora;

import io.lakelora.util.Rng;

/**
 * A small dense singular value decomposition in double precision, for PiSSA and LoftQ initialisation (never on the
 * training hot path). {@link #thin} is one-sided Jacobi (Hestenes): accurate to a few ulps of the largest singular
 * value, O(k^2 * max(m, n)) per sweep with k = min(m, n). {@link #lowRank} is the randomized range finder of
 * {@code torch.svd_lowrank} (Halko et al. 2011, algorithm 4.4) followed by an exact SVD of the small projection.
 *
 * <p>Matrices are row-major {@code double[]}; {@code A = U diag(S) Vt} with U [m, k], S [k] descending, Vt [k, n].
 */
public final class Svd {
    private static final int MAX_SWEEPS = 80;

    private Svd() {}

    /** A thin SVD: {@code u} [m, k] row-major, {@code s} [k] descending and >= 0, {@code vt} [k, n] row-major. */
    public record Result(int m, int n, int k, double[] u, double[] s, double[] vt) {
        /** U[:, :r] diag(S[:r]) Vt[:r, :] as a row-major [m, n] matrix. */
        public double[] reconstruct(int r) {
            if (r > k) throw new IllegalArgumentException("rank " + r + " > " + k);
            double[] a = new double[m * n];
            for (int i = 0; i < m; i++) {
                for (int t = 0; t < r; t++) {
                    double us = u[i * k + t] * s[t];
                    if (us == 0) continue;
                    for (int j = 0; j < n; j++) a[i * n + j] += us * vt[t * n + j];
                }
            }
            return a;
        }
    }

    /** The full thin SVD of the row-major [m, n] matrix {@code a} (not modified). */
    public static Result thin(double[] a, int m, int n) {
        if (a.length != (long) m * n) {
            throw new IllegalArgumentException("matrix has " + a.length + " values, expected " + m + "x" + n);
        }
        if (m <= 0 || n <= 0) throw new IllegalArgumentException("empty matrix " + m + "x" + n);
        boolean tall = m >= n;
        int k = Math.min(m, n);
        int len = Math.max(m, n);
        // Orthogonalise the k columns of X = (tall ? A : A^T), each of length len, stored as rows of cols[][].
        double[][] cols = new double[k][len];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                if (tall) cols[j][i] = a[i * n + j];
                else cols[i][j] = a[i * n + j];
            }
        }
        double[][] rot = new double[k][k]; // accumulated right rotations, column c stored as rot[c]
        for (int c = 0; c < k; c++) rot[c][c] = 1.0;
        double[] norms = new double[k];
        for (int c = 0; c < k; c++) norms[c] = dot(cols[c], cols[c]);

        for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
            boolean rotated = false;
            for (int p = 0; p < k - 1; p++) {
                for (int q = p + 1; q < k; q++) {
                    double alpha = norms[p];
                    double beta = norms[q];
                    double gamma = dot(cols[p], cols[q]);
                    if (gamma == 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.signum(zeta) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
                    if (zeta == 0) t = 1;
                    double cs = 1 / Math.sqrt(1 + t * t);
                    double sn = cs * t;
                    rotate(cols[p], cols[q], cs, sn);
                    rotate(rot[p], rot[q], cs, sn);
                    norms[p] = dot(cols[p], cols[p]);
                    norms[q] = dot(cols[q], cols[q]);
                }
            }
            if (!rotated) break;
        }

        Integer[] order = new Integer[k];
        double[] sv = new double[k];
        for (int c = 0; c < k; c++) {
            order[c] = c;
            sv[c] = Math.sqrt(dot(cols[c], cols[c]));
        }
        java.util.Arrays.sort(order, (x, y) -> Double.compare(sv[y], sv[x]));

        double[] s = new double[k];
        double[] left = new double[len * k]; // normalised columns: left vectors of X, [len, k]
        double[] right = new double[k * k]; // rotations: right vectors of X, [k, k]
        for (int t = 0; t < k; t++) {
            int c = order[t];
            s[t] = sv[c];
            double inv = sv[c] > 0 ? 1 / sv[c] : 0;
            for (int i = 0; i < len; i++) left[i * k + t] = cols[c][i] * inv;
            for (int i = 0; i < k; i++) right[i * k + t] = rot[c][i];
        }
        if (tall) {
            // A = left S right^T: U = left [m, k], Vt = right^T [k, n]
            return new Result(m, n, k, left, s, transpose(right, k, k));
        }
        // A^T = left S right^T  =>  A = right S left^T: U = right [m, k], Vt = left^T [k, n]
        return new Result(m, n, k, right, s, transpose(left, len, k));
    }

    /**
     * The rank-{@code q} approximate SVD of {@code torch.svd_lowrank(A, q, niter)}: a Gaussian [n, q] test matrix from
     * {@code rng}, {@code niter} power iterations with re-orthonormalisation, then the exact SVD of Q^T A.
     */
    public static Result lowRank(double[] a, int m, int n, int q, int niter, Rng rng) {
        if (q <= 0 || q > Math.min(m, n)) {
            throw new IllegalArgumentException(
                    "rank " + q + " must be in 1.." + Math.min(m, n) + " for a " + m + "x" + n + " matrix");
        }
        double[] omega = new double[n * q];
        for (int i = 0; i < omega.length; i++) omega[i] = rng.nextGaussian();
        double[] qm = orthonormalColumns(matmul(a, m, n, omega, q), m, q); // [m, q]
        double[] at = transpose(a, m, n);
        for (int it = 0; it < niter; it++) {
            double[] z = orthonormalColumns(matmul(at, n, m, qm, q), n, q); // [n, q]
            qm = orthonormalColumns(matmul(a, m, n, z, q), m, q); // [m, q]
        }
        double[] b = matmul(transpose(qm, m, q), q, m, a, n); // [q, n]
        Result small = thin(b, q, n);
        double[] u = matmul(qm, m, q, small.u(), small.k()); // [m, q]
        return new Result(m, n, small.k(), u, small.s(), small.vt());
    }

    /** Gram-Schmidt with one re-orthogonalisation pass; columns that vanish stay zero. */
    static double[] orthonormalColumns(double[] x, int rows, int cols) {
        double[][] c = new double[cols][rows];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) c[j][i] = x[i * cols + j];
        for (int j = 0; j < cols; j++) {
            double before = Math.sqrt(dot(c[j], c[j]));
            for (int pass = 0; pass < 2; pass++) {
                for (int p = 0; p < j; p++) {
                    double d = dot(c[p], c[j]);
                    for (int i = 0; i < rows; i++) c[j][i] -= d * c[p][i];
                }
            }
            double nrm = Math.sqrt(dot(c[j], c[j]));
            double inv = nrm > 1e-13 * Math.max(before, Double.MIN_NORMAL) ? 1 / nrm : 0;
            for (int i = 0; i < rows; i++) c[j][i] *= inv;
        }
        double[] out = new double[rows * cols];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) out[i * cols + j] = c[j][i];
        return out;
    }

    static double[] matmul(double[] a, int m, int k, double[] b, int n) {
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int t = 0; t < k; t++) {
                double av = a[i * k + t];
                if (av == 0) continue;
                for (int j = 0; j < n; j++) c[i * n + j] += av * b[t * n + j];
            }
        }
        return c;
    }

    static double[] transpose(double[] a, int rows, int cols) {
        double[] t = new double[rows * cols];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
        return t;
    }

    private static double dot(double[] x, double[] y) {
        double s = 0;
        for (int i = 0; i < x.length; i++) s += x[i] * y[i];
        return s;
    }

    private static void rotate(double[] x, double[] y, double cs, double sn) {
        for (int i = 0; i < x.length; i++) {
            double xi = x[i];
            double yi = y[i];
            x[i] = cs * xi - sn * yi;
            y[i] = sn * xi + cs * yi;
        }
    }
}
