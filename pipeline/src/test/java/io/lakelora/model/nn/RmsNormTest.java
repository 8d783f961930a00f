package io.lakelora.model.nn;

import static io.lakelora.model.nn.GradCheck.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lakelora.kernel.Kernels;
import io.lakelora.kernel.TestBackends;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Through both backends ({@link TestBackends}): each against the double reference and finite differences. */
class RmsNormTest {
    static final int N = 3, C = 7;
    static final float EPS = 1e-5f;

    /** HF LlamaRMSNorm in double: w * x / sqrt(mean(x^2) + eps). */
    static double[] ref(double[] x, float[] w) {
        return ref(x, w, N, C);
    }

    static double[] ref(double[] x, float[] w, int N, int C) {
        double[] out = new double[N * C];
        for (int n = 0; n < N; n++) {
            double ss = 0;
            for (int c = 0; c < C; c++) ss += x[n * C + c] * x[n * C + c];
            double r = 1 / Math.sqrt(ss / C + EPS);
            for (int c = 0; c < C; c++) out[n * C + c] = w[c] * x[n * C + c] * r;
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void forwardMatchesDoubleReference(String backend) {
        Kernels kern = TestBackends.of(backend);
        SplittableRandom r = new SplittableRandom(1);
        float[] x = randn(r, N * C, 1.5);
        float[] w = randn(r, C, 1.0);
        float[] out = new float[N * C];
        float[] rstd = new float[N];
        RmsNorm.forward(kern, out, 0, rstd, 0, x, 0, w, N, C, EPS);
        double[] want = ref(GradCheck.toDouble(x), w);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], out[i], 1e-6 * Math.max(1, Math.abs(want[i])));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void backwardMatchesFiniteDifferencesAndAccumulates(String backend) {
        Kernels kern = TestBackends.of(backend);
        SplittableRandom r = new SplittableRandom(2);
        float[] x = randn(r, N * C, 1.0);
        float[] w = randn(r, C, 1.0);
        float[] g = randn(r, N * C, 1.0); // dout: loss = sum(g * out)
        float[] out = new float[N * C];
        float[] rstd = new float[N];
        RmsNorm.forward(kern, out, 0, rstd, 0, x, 0, w, N, C, EPS);
        float[] prior = randn(r, N * C, 1.0);
        float[] dinp = prior.clone();
        RmsNorm.backward(kern, dinp, 0, g, 0, x, 0, w, rstd, 0, N, C);
        for (int i = 0; i < dinp.length; i++) dinp[i] -= prior[i]; // accumulated, not overwritten
        double[] num = GradCheck.numeric(xd -> GradCheck.dot(ref(xd, w), g), GradCheck.toDouble(x), 1e-6);
        GradCheck.assertClose("rmsnorm dx", dinp, 0, num, 1e-5);
    }

    /** Rows as wide as a model's (the vector sums and row updates, C = 768 and a ragged 771) against double. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void wideRowsMatchTheDoubleReferenceForwardAndBackward(String backend) {
        Kernels kern = TestBackends.of(backend);
        for (int c : new int[] {768, 771}) {
            int n = 5;
            SplittableRandom r = new SplittableRandom(3 + c);
            float[] x = randn(r, n * c, 1.0);
            float[] w = randn(r, c, 1.0);
            float[] g = randn(r, n * c, 1.0);
            float[] out = new float[n * c];
            float[] rstd = new float[n];
            RmsNorm.forward(kern, out, 0, rstd, 0, x, 0, w, n, c, EPS);
            double[] xd = GradCheck.toDouble(x);
            double[] want = ref(xd, w, n, c);
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], out[i], 2e-6 * Math.max(1, Math.abs(want[i])), "C=" + c + " out[" + i + "]");
            }
            // analytic backward in double: dx = r w g - x r^3 / C * sum(g w x)
            float[] dinp = new float[n * c];
            RmsNorm.backward(kern, dinp, 0, g, 0, x, 0, w, rstd, 0, n, c);
            for (int row = 0; row < n; row++) {
                double ss = 0, dot = 0;
                for (int j = 0; j < c; j++) {
                    double xv = xd[row * c + j];
                    ss += xv * xv;
                    dot += g[row * c + j] * (double) w[j] * xv;
                }
                double rr = 1 / Math.sqrt(ss / c + EPS);
                for (int j = 0; j < c; j++) {
                    double dx = rr * w[j] * g[row * c + j] - xd[row * c + j] * rr * rr * rr / c * dot;
                    assertEquals(dx, dinp[row * c + j], 2e-5 * Math.max(1, Math.abs(dx)), "C=" + c + " dx row " + row);
                }
            }
        }
    }
}
