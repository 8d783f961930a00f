package io.lakelora.model.nn;

import static io.lakelora.model.nn.GradCheck.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lakelora.kernel.Kernels;
import io.lakelora.kernel.ScalarKernels;
import io.lakelora.kernel.TestBackends;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The double reference and finite differences through both backends ({@link TestBackends}). */
class AttentionTest {
    final Kernels kern = new ScalarKernels();

    /** Softmax attention in double; query head h uses KV head h / (NH / NKV); row i sees keys lo[i]..hi[i]. */
    static double[] ref(double[] q, double[] k, double[] v, int[] lo, int[] hi, int T, int NH, int NKV, int HS) {
        double[] out = new double[T * NH * HS];
        double scale = 1 / Math.sqrt(HS);
        for (int h = 0; h < NH; h++) {
            int kvh = h / (NH / NKV);
            for (int i = 0; i < T; i++) {
                double[] s = new double[T];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = lo[i]; j <= hi[i]; j++) {
                    double d = 0;
                    for (int e = 0; e < HS; e++) d += q[(i * NH + h) * HS + e] * k[(j * NKV + kvh) * HS + e];
                    s[j] = d * scale;
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = lo[i]; j <= hi[i]; j++) sum += (s[j] = Math.exp(s[j] - max));
                for (int j = lo[i]; j <= hi[i]; j++) {
                    for (int e = 0; e < HS; e++) out[(i * NH + h) * HS + e] += s[j] / sum * v[(j * NKV + kvh) * HS + e];
                }
            }
        }
        return out;
    }

    /** Packed documents: starts at 0, 30 and 66 (T > ROW_BLOCK so the row blocking is exercised). */
    static int[][] windows(int T) {
        int[] lo = new int[T];
        int[] hi = new int[T];
        int start = 0;
        for (int i = 0; i < T; i++) {
            if (i == 30 || i == 66) start = i;
            lo[i] = start;
            hi[i] = i;
        }
        return new int[][] {lo, hi};
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void forwardAndBackwardMatchDoubleReference(String backend) {
        Kernels kern = TestBackends.of(backend);
        int T = 70, NH = 4, NKV = 2, HS = 3;
        int QD = NH * HS, KVD = NKV * HS;
        SplittableRandom r = new SplittableRandom(7);
        float[] q = randn(r, T * QD, 1.0);
        float[] k = randn(r, T * KVD, 1.0);
        float[] v = randn(r, T * KVD, 1.0);
        float[] g = randn(r, T * QD, 1.0);
        int[][] win = windows(T);
        float[][] got = run(kern, q, k, v, g, win[0], win[1], T, NH, NKV, HS);
        float[] out = got[0], dq = got[1], dk = got[2], dv = got[3];
        double[] want = ref(
                GradCheck.toDouble(q), GradCheck.toDouble(k), GradCheck.toDouble(v), win[0], win[1], T, NH, NKV, HS);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], out[i], 2e-6);

        double[] qd = GradCheck.toDouble(q);
        double[] kd = GradCheck.toDouble(k);
        double[] vd = GradCheck.toDouble(v);
        GradCheck.assertClose(
                "attention dq",
                dq,
                0,
                GradCheck.numeric(x -> GradCheck.dot(ref(x, kd, vd, win[0], win[1], T, NH, NKV, HS), g), qd, 1e-6),
                1e-5);
        GradCheck.assertClose(
                "attention dk",
                dk,
                0,
                GradCheck.numeric(x -> GradCheck.dot(ref(qd, x, vd, win[0], win[1], T, NH, NKV, HS), g), kd, 1e-6),
                1e-5);
        GradCheck.assertClose(
                "attention dv",
                dv,
                0,
                GradCheck.numeric(x -> GradCheck.dot(ref(qd, kd, x, win[0], win[1], T, NH, NKV, HS), g), vd, 1e-6),
                1e-5);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void kvCacheStyleWindowsAndSharedProbs(String backend) {
        Kernels kern = TestBackends.of(backend);
        // 3 new query rows at positions 5..7 over 8 cached keys: row i sees keys 0..5+i
        int Tq = 3, Tk = 8, NH = 2, NKV = 1, HS = 4;
        SplittableRandom r = new SplittableRandom(8);
        float[] q = randn(r, Tq * NH * HS, 1.0);
        float[] k = randn(r, Tk * NKV * HS, 1.0);
        float[] v = randn(r, Tk * NKV * HS, 1.0);
        int[] lo = {0, 0, 0};
        int[] hi = {5, 6, 7};
        float[] out = new float[Tq * NH * HS];
        Attention.forward(kern, out, 0, new float[Tq * Tk], 0, false, q, 0, k, 0, v, 0, lo, hi, 0, Tq, Tk, NH, NKV, HS);
        // reference: full causal attention over 8 rows, compare its last 3 rows
        double[] qFull = new double[Tk * NH * HS];
        for (int i = 0; i < q.length; i++) qFull[5 * NH * HS + i] = q[i];
        int[] lo8 = new int[Tk];
        int[] hi8 = {0, 1, 2, 3, 4, 5, 6, 7};
        double[] want = ref(qFull, GradCheck.toDouble(k), GradCheck.toDouble(v), lo8, hi8, Tk, NH, NKV, HS);
        for (int i = 0; i < out.length; i++) assertEquals(want[5 * NH * HS + i], out[i], 2e-6);
    }

    @Test
    void rejectsBadWindow() {
        float[] z = new float[64];
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> Attention.forward(
                        kern,
                        z,
                        0,
                        z,
                        0,
                        false,
                        z,
                        0,
                        z,
                        0,
                        z,
                        0,
                        new int[] {0, 0},
                        new int[] {0, 2},
                        0,
                        2,
                        2,
                        1,
                        1,
                        2));
        assertEquals("attention window of query row 1 is [0, 2], expected 0 <= lo <= hi < 2", e.getMessage());
    }

    /**
     * The vector kernels (packed operands, key columns aligned to 32, spans cut at row blocks) against the
     * scalar kernels, whose path the finite-difference test above checks: causal, packed documents and a sliding
     * window over several row blocks (blocks whose windows start at different keys), one and two threads.
     */
    @Test
    void vectorKernelsMatchScalarKernelsOverManyRowBlocks() {
        int T = 150, NH = 4, NKV = 2, HS = 32;
        int QD = NH * HS, KVD = NKV * HS;
        SplittableRandom r = new SplittableRandom(9);
        float[] q = randn(r, T * QD, 1.0);
        float[] k = randn(r, T * KVD, 1.0);
        float[] v = randn(r, T * KVD, 1.0);
        float[] g = randn(r, T * QD, 1.0);
        int[] causalLo = new int[T], docLo = new int[T], slideLo = new int[T], hi = new int[T];
        for (int i = 0; i < T; i++) {
            hi[i] = i;
            docLo[i] = i >= 101 ? 101 : i >= 57 ? 57 : 0;
            slideLo[i] = Math.max(0, i - 39);
        }
        for (int[] lo : new int[][] {causalLo, docLo, slideLo}) {
            float[][] want = run(kern, q, k, v, g, lo, hi, T, NH, NKV, HS);
            for (int threads : new int[] {1, 2}) {
                Kernels vk = new io.lakelora.kernel.VectorKernels(threads);
                float[][] got = run(vk, q, k, v, g, lo, hi, T, NH, NKV, HS);
                String[] names = {"out", "dq", "dk", "dv"};
                for (int t = 0; t < 4; t++) {
                    for (int i = 0; i < want[t].length; i++) {
                        assertEquals(
                                want[t][i],
                                got[t][i],
                                2e-5 * (1 + Math.abs(want[t][i])),
                                names[t] + "[" + i + "] lo[100]=" + lo[100] + " threads=" + threads);
                    }
                }
            }
        }
    }

    private static float[][] run(
            Kernels kern,
            float[] q,
            float[] k,
            float[] v,
            float[] g,
            int[] lo,
            int[] hi,
            int T,
            int NH,
            int NKV,
            int HS) {
        float[] out = new float[T * NH * HS];
        float[] probs = new float[NH * T * T];
        Attention.forward(kern, out, 0, probs, 0, true, q, 0, k, 0, v, 0, lo, hi, 0, T, T, NH, NKV, HS);
        float[] dq = new float[T * NH * HS];
        float[] dk = new float[T * NKV * HS];
        float[] dv = new float[T * NKV * HS];
        float[][] scratch = new float[kern.threads()][T * T];
        Attention.backward(
                kern, dq, 0, dk, 0, dv, 0, scratch, g, 0, probs, 0, q, 0, k, 0, v, 0, lo, hi, 0, T, T, NH, NKV, HS);
        return new float[][] {out, dq, dk, dv};
    }
}
