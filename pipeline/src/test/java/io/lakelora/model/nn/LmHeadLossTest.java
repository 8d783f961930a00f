package io.lakelora.model.nn;

import static io.lakelora.model.nn.GradCheck.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lakelora.kernel.TestBackends;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Through both backends ({@link TestBackends}): the double reference and finite differences. */
class LmHeadLossTest {
    static final int N = 10, C = 5, V = 13;
    static final int[] TARGETS = {3, -1, 0, 12, 7, -1, -1, 5, 5, 1};

    /** sum over target rows of logsumexp(x W^T) - (x W^T)[target], in double. */
    static double ref(double[] x, float[] w) {
        double total = 0;
        for (int n = 0; n < N; n++) {
            if (TARGETS[n] < 0) continue;
            double[] z = new double[V];
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < V; v++) {
                for (int c = 0; c < C; c++) z[v] += x[n * C + c] * w[v * C + c];
                max = Math.max(max, z[v]);
            }
            double s = 0;
            for (int v = 0; v < V; v++) s += Math.exp(z[v] - max);
            total += max + Math.log(s) - z[TARGETS[n]];
        }
        return total;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void lossAndGradientAcrossChunks(String backend) {
        SplittableRandom r = new SplittableRandom(10);
        float[] x = randn(r, N * C, 1.0);
        float[] w = randn(r, V * C, 1.0);
        FrozenLinear head = FrozenLinear.dense(V, C, w, null);
        float[] dx = new float[N * C];
        float[] tokenLoss = new float[N];
        // 3 target rows per chunk: 7 target rows -> 3 chunks
        double loss = new LmHeadLoss(C, V, 3)
                .forwardBackward(TestBackends.of(backend), head, dx, x, TARGETS, tokenLoss, N, 1f);
        double want = ref(GradCheck.toDouble(x), w);
        assertEquals(want, loss, 1e-5 * want);
        double sumTok = 0;
        for (float t : tokenLoss) sumTok += t;
        assertEquals(loss, sumTok, 1e-5 * want);
        GradCheck.assertClose(
                "cross-entropy dx", dx, 0, GradCheck.numeric(xd -> ref(xd, w), GradCheck.toDouble(x), 1e-6), 1e-5);
        for (int c = 0; c < C; c++) assertEquals(0f, dx[C + c], "ignored row gets no gradient");
    }
}
