package io.lakelora.model.nn;

import static io.lakelora.model.nn.GradCheck.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.kernel.Kernels;
import io.lakelora.kernel.TestBackends;
import io.lakelora.quant.QuantType;
import io.lakelora.quant.QuantizedMatrix;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The linear + LoRA composition (frozen W, bias, dropout, A, B) as the model uses it, against a double reference,
 * through both backends ({@link TestBackends}).
 */
class LoraLinearTest {
    static final int N = 5, IN = 6, OUT = 4, R = 3;
    static final float SCALING = 1.7f;

    /** y = x W^T + b + s * (drop(x) A^T) B^T in double; ab = [A (R, IN), B (OUT, R)]. */
    static double[] ref(double[] x, double[] ab, float[] w, float[] bias, float p, long seed) {
        double[] y = new double[N * OUT];
        double keepScale = 1.0 / (1.0 - p);
        for (int n = 0; n < N; n++) {
            double[] xd = new double[IN];
            for (int i = 0; i < IN; i++) {
                xd[i] = p == 0 || Dropout.keep(seed, (long) n * IN + i, p)
                        ? x[n * IN + i] * (p == 0 ? 1 : keepScale)
                        : 0;
            }
            double[] u = new double[R];
            for (int j = 0; j < R; j++) for (int i = 0; i < IN; i++) u[j] += xd[i] * ab[j * IN + i];
            for (int o = 0; o < OUT; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < IN; i++) s += x[n * IN + i] * w[o * IN + i];
                double l = 0;
                for (int j = 0; j < R; j++) l += u[j] * ab[R * IN + o * R + j];
                y[n * OUT + o] = s + SCALING * l;
            }
        }
        return y;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void denseWithBiasNoDropout(String backend) {
        check(TestBackends.of(backend), false, true, 0f);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void denseWithDropout(String backend) {
        check(TestBackends.of(backend), false, false, 0.3f);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void quantizedBaseWithDropout(String backend) {
        check(TestBackends.of(backend), true, false, 0.25f);
    }

    void check(Kernels kern, boolean quantized, boolean withBias, float p) {
        SplittableRandom r = new SplittableRandom(9);
        float[] x = randn(r, N * IN, 1.0);
        float[] ab = randn(r, R * IN + OUT * R, 0.5); // slab: A at 0, B at R*IN (B non-zero)
        float[] g = randn(r, N * OUT, 1.0);
        float[] bias = withBias ? randn(r, OUT, 1.0) : null;
        FrozenLinear lin;
        float[] wf;
        if (quantized) {
            QuantizedMatrix qm = randomNf4(r, OUT, IN);
            lin = FrozenLinear.quantized(qm, bias);
            wf = qm.dequantize();
        } else {
            wf = randn(r, OUT * IN, 1.0);
            lin = FrozenLinear.dense(OUT, IN, wf, bias);
        }
        long seed = 1234;
        // forward as the model does it
        float[] y = new float[N * OUT];
        float[] u = new float[N * R];
        float[] xd = new float[N * IN];
        lin.forward(kern, y, 0, x, 0, N);
        if (p > 0) Dropout.forward(xd, x, N * IN, p, seed);
        else xd = x;
        Lora.forward(kern, y, 0, u, 0, xd, 0, ab, 0, R * IN, N, IN, OUT, R, SCALING);
        double[] want = ref(GradCheck.toDouble(x), GradCheck.toDouble(ab), wf, bias, p, seed);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], y[i], 1e-5 * Math.max(1, Math.abs(want[i])));
        // backward
        float[] dx = new float[N * IN];
        float[] grads = new float[ab.length];
        lin.backwardInput(kern, dx, 0, g, 0, N);
        float[] dxd = new float[N * IN];
        Lora.backward(
                kern,
                p > 0 ? dxd : dx,
                0,
                grads,
                new float[N * R],
                0,
                new float[IN * R],
                g,
                0,
                u,
                0,
                xd,
                0,
                ab,
                0,
                R * IN,
                N,
                IN,
                OUT,
                R,
                SCALING);
        if (p > 0) Dropout.backward(dx, dxd, N * IN, p, seed);
        double[] abd = GradCheck.toDouble(ab);
        double[] xdd = GradCheck.toDouble(x);
        GradCheck.assertClose(
                "linear+lora dx",
                dx,
                0,
                GradCheck.numeric(v -> GradCheck.dot(ref(v, abd, wf, bias, p, seed), g), xdd, 1e-6),
                1e-5);
        GradCheck.assertClose(
                "linear+lora d(A,B)",
                grads,
                0,
                GradCheck.numeric(v -> GradCheck.dot(ref(xdd, v, wf, bias, p, seed), g), abd, 1e-6),
                1e-5);
        if (p > 0) {
            int dropped = 0;
            for (int i = 0; i < N * IN; i++) if (!Dropout.keep(seed, i, p)) dropped++;
            assertTrue(dropped > 0 && dropped < N * IN, "dropout dropped " + dropped + " of " + N * IN);
        }
    }

    /** A random NF4 matrix without double quantization (random codes and block absmax). */
    static QuantizedMatrix randomNf4(SplittableRandom r, int rows, int cols) {
        int n = rows * cols;
        byte[] packed = new byte[(n + 1) / 2];
        for (int i = 0; i < packed.length; i++) packed[i] = (byte) r.nextInt(256);
        float[] absmax = new float[(n + 63) / 64];
        for (int i = 0; i < absmax.length; i++) absmax[i] = 0.5f + (float) r.nextDouble();
        return QuantizedMatrix.fourBit(QuantType.NF4, rows, cols, 64, packed, absmax);
    }
}
