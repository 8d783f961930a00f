package io.lakelora.model.nn;

import static io.lakelora.model.nn.GradCheck.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lakelora.kernel.Kernels;
import io.lakelora.kernel.TestBackends;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Qwen3RMSNorm over head_dim per head (q_norm / k_norm) through both backends: each head of each row normalized on its
 * own with the one (HS) weight, in double from the HF formula, and the input gradient against finite differences.
 */
class HeadRmsNormTest {
    static final int N = 3, NH = 4, HS = 6;
    static final float EPS = 1e-6f;

    static double[] ref(double[] x, float[] w) {
        double[] out = new double[N * NH * HS];
        for (int row = 0; row < N * NH; row++) {
            double ss = 0;
            for (int i = 0; i < HS; i++) ss += x[row * HS + i] * x[row * HS + i];
            double r = 1 / Math.sqrt(ss / HS + EPS);
            for (int i = 0; i < HS; i++) out[row * HS + i] = w[i] * x[row * HS + i] * r;
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void perHeadForwardAndBackward(String backend) {
        Kernels kern = TestBackends.of(backend);
        SplittableRandom r = new SplittableRandom(9);
        float[] x = randn(r, N * NH * HS, 1.5);
        for (int i = 0; i < HS; i++) x[HS + i] *= 50; // one head much larger: a whole-row norm would shrink the others
        float[] w = randn(r, HS, 1.0);
        float[] out = new float[N * NH * HS];
        float[] rstd = new float[N * NH];
        HeadRmsNorm.forward(kern, out, 0, rstd, 0, x, 0, w, N, NH, HS, EPS);
        double[] want = ref(GradCheck.toDouble(x), w);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], out[i], 1e-5 * Math.max(1, Math.abs(want[i])));
        float[] g = randn(r, N * NH * HS, 1.0);
        float[] prior = randn(r, N * NH * HS, 1.0);
        float[] dx = prior.clone();
        HeadRmsNorm.backward(kern, dx, 0, g, 0, x, 0, w, rstd, 0, N, NH, HS);
        for (int i = 0; i < dx.length; i++) dx[i] -= prior[i]; // accumulated
        double[] num = GradCheck.numeric(xd -> GradCheck.dot(ref(xd, w), g), GradCheck.toDouble(x), 1e-5);
        GradCheck.assertClose("head rmsnorm dx", dx, 0, num, 1e-4);
    }
}
