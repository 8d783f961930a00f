package io.lakelora.model.nn;

import static io.lakelora.model.nn.GradCheck.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lakelora.kernel.Kernels;
import io.lakelora.kernel.TestBackends;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Through both backends ({@link TestBackends}): the double reference (PyTorch's gelu with approximate="tanh",
 * {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}, times up) and finite differences. N = 37: whole vectors and a
 * scalar tail.
 */
class GeluTanhGateTest {
    static final int N = 37;

    static double[] ref(double[] gu) { // gu = [gate (N), up (N)]
        double[] h = new double[N];
        for (int i = 0; i < N; i++) {
            double x = gu[i];
            h[i] = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))) * gu[N + i];
        }
        return h;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void forwardAndBackward(String backend) {
        Kernels kern = TestBackends.of(backend);
        SplittableRandom r = new SplittableRandom(7);
        float[] gate = randn(r, N, 2.0);
        float[] up = randn(r, N, 1.0);
        float[] g = randn(r, N, 1.0);
        float[] h = new float[N];
        GeluTanhGate.forward(kern, h, gate, up, 0, N);
        double[] gu = new double[2 * N];
        for (int i = 0; i < N; i++) {
            gu[i] = gate[i];
            gu[N + i] = up[i];
        }
        double[] want = ref(gu);
        for (int i = 0; i < N; i++) assertEquals(want[i], h[i], 1e-6 * Math.max(1, Math.abs(want[i])), "h " + i);
        float[] dgu = new float[2 * N];
        float[] dgate = new float[N];
        float[] dup = new float[N];
        GeluTanhGate.backward(kern, dgate, dup, g, gate, up, 0, N);
        System.arraycopy(dgate, 0, dgu, 0, N);
        System.arraycopy(dup, 0, dgu, N, N);
        double[] num = GradCheck.numeric(x -> GradCheck.dot(ref(x), g), gu, 1e-6);
        GradCheck.assertClose("gelu_tanh gate d(gate, up)", dgu, 0, num, 1e-5);
    }
}
