package io.lakelora.model.nn;

import static io.lakelora.model.nn.GradCheck.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RopeTest {
    static final int N = 4, NHX = 2, HS = 8;
    static final int[] POS = {0, 5, 17, 300};
    static final double[] INV = new double[HS / 2];

    static { // HF: inv_freq = 1 / theta^(arange(0, d, 2) / d) in fp32
        for (int i = 0; i < HS / 2; i++) INV[i] = 1f / (float) Math.pow(10000.0, (float) (2 * i) / HS);
    }

    /** HF apply_rotary_pos_emb in double: x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x2, x1). */
    static double[] ref(double[] x) {
        double[] out = new double[x.length];
        int half = HS / 2;
        for (int n = 0; n < N; n++) {
            for (int h = 0; h < NHX; h++) {
                int base = (n * NHX + h) * HS;
                for (int i = 0; i < HS; i++) {
                    int fi = i % half;
                    double angle = (float) POS[n] * (float) INV[fi]; // HF: freqs = pos * inv_freq in fp32
                    double rot = i < half ? -x[base + i + half] : x[base + i - half];
                    out[base + i] = x[base + i] * Math.cos(angle) + rot * Math.sin(angle);
                }
            }
        }
        return out;
    }

    @Test
    void forwardMatchesHfFormula() {
        SplittableRandom r = new SplittableRandom(3);
        float[] x = randn(r, N * NHX * HS, 1.0);
        double[] want = ref(GradCheck.toDouble(x));
        new Rope(INV).forward(x, 0, POS, 0, N, NHX);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], x[i], 1e-6);
    }

    @Test
    void positionZeroIsIdentity() {
        float[] x = randn(new SplittableRandom(4), HS, 1.0);
        float[] y = x.clone();
        new Rope(INV).forward(y, 0, new int[] {0}, 0, 1, 1);
        for (int i = 0; i < HS; i++) assertEquals(x[i], y[i], 0f);
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        SplittableRandom r = new SplittableRandom(5);
        float[] x = randn(r, N * NHX * HS, 1.0);
        float[] g = randn(r, N * NHX * HS, 1.0);
        float[] dx = g.clone();
        new Rope(INV).backward(dx, 0, POS, 0, N, NHX);
        double[] num = GradCheck.numeric(xd -> GradCheck.dot(ref(xd), g), GradCheck.toDouble(x), 1e-6);
        GradCheck.assertClose("rope dx", dx, 0, num, 1e-6);
    }
}
