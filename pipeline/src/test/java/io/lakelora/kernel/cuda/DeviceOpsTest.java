package io.lakelora.kernel.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.kernel.ScalarKernels;
import io.lakelora.kernel.ScalarMathOps;
import io.lakelora.model.ModelConfig;
import io.lakelora.model.nn.Attention;
import io.lakelora.model.nn.Dropout;
import io.lakelora.model.nn.FrozenLinear;
import io.lakelora.model.nn.LmHeadLoss;
import io.lakelora.model.nn.Rope;
import io.lakelora.safetensors.Halfs;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every layer operation through {@link DeviceOps} (geometry, argument order, layouts) on the fake, against the Java
 * layers it mirrors: {@link ScalarMathOps} (RMSNorm, SwiGLU), {@link Rope} with every scaling style,
 * {@link Dropout}'s mask, {@link Attention} with GQA and document windows (through {@link DeviceAttention}),
 * {@link LmHeadLoss}, and the element-wise helpers.
 */
class DeviceOpsTest {
    @TempDir
    Path cache;

    static float[] randn(SplittableRandom r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * scale);
        return v;
    }

    static void assertClose(float[] want, float[] got, double rel, String what) {
        assertEquals(want.length, got.length, what);
        double max = 0;
        for (int i = 0; i < want.length; i++) {
            double d = Math.abs((double) want[i] - got[i]);
            max = Math.max(max, d);
            assertTrue(d <= rel * (1 + Math.abs(want[i])), what + " [" + i + "]: " + want[i] + " vs " + got[i]);
        }
        System.out.printf("%s: max |diff| %.3g%n", what, max);
    }

    @Test
    void rmsNormForwardAndBackward() {
        SplittableRandom r = new SplittableRandom(1);
        int N = 5, C = 200; // C > 4 * 32: a block of 64 threads
        float[] x = randn(r, N * C, 2), w = randn(r, C, 1), dout = randn(r, N * C, 1), dx0 = randn(r, N * C, 1);
        float[] out = new float[N * C], rstd = new float[N], dx = dx0.clone();
        ScalarMathOps.INSTANCE.rmsNormForward(out, 0, rstd, 0, x, 0, w, N, C, 1e-5f);
        ScalarMathOps.INSTANCE.rmsNormBackward(dx, 0, dout, 0, x, 0, w, rstd, 0, N, C);
        try (TestDevice d = new TestDevice(cache)) {
            long dxp = d.floats(x), dw = d.floats(w), o = d.zeros(N * C), rs = d.zeros(N), gd = d.floats(dout);
            long gx = d.floats(dx0);
            d.ops.rmsNormForward(o, rs, dxp, dw, N, C, 1e-5f);
            assertArrayEquals(out, d.read(o, N * C), 0f);
            assertArrayEquals(rstd, d.read(rs, N), 0f);
            d.ops.rmsNormBackward(gx, gd, dxp, dw, rs, N, C);
            assertArrayEquals(dx, d.read(gx, N * C), 0f, "accumulated input gradient");
        }
    }

    @Test
    void ropeEveryScalingStyleWithAStridedRow() throws Exception {
        SplittableRandom r = new SplittableRandom(2);
        for (String f : new String[] {
            "llama3.1-8b-instruct.config.json", "llama2-7b-linear.config.json", "mistral-7b-v0.1.config.json"
        }) {
            ModelConfig c = ModelConfig.load(Path.of(
                    DeviceOpsTest.class.getResource("/fixtures/model/" + f).toURI()));
            double[] inv = c.ropeInvFreq();
            int half = inv.length, HS = 2 * half, NHx = 2, N = 4, ld = NHx * HS + 7;
            int[] pos = {0, 3, 1000, 8191};
            float[] x = randn(r, N * ld, 1);
            float[] want = new float[N * NHx * HS];
            for (int n = 0; n < N; n++) System.arraycopy(x, n * ld, want, n * NHx * HS, NHx * HS);
            Rope rope = new Rope(inv);
            rope.forward(want, 0, pos, 0, N, NHx);
            float[] back = want.clone();
            rope.backward(back, 0, pos, 0, N, NHx);
            float[][] tab = RopeTables.of(inv, 8192);
            try (TestDevice d = new TestDevice(cache)) {
                long dx = d.floats(x), dp = d.ints(pos), dc = d.floats(tab[0]), ds = d.floats(tab[1]);
                d.ops.rope(dx, ld, dp, dc, ds, N, NHx, half, false);
                float[] got = d.read(dx, N * ld);
                for (int n = 0; n < N; n++) {
                    for (int i = 0; i < ld; i++) {
                        float expect = i < NHx * HS ? want[n * NHx * HS + i] : x[n * ld + i]; // the tail untouched
                        assertEquals(
                                Float.floatToRawIntBits(expect),
                                Float.floatToRawIntBits(got[n * ld + i]),
                                f + " forward (" + n + ", " + i + ")");
                    }
                }
                d.ops.rope(dx, ld, dp, dc, ds, N, NHx, half, true);
                got = d.read(dx, N * ld);
                for (int n = 0; n < N; n++) {
                    for (int i = 0; i < NHx * HS; i++) {
                        assertEquals(
                                back[n * NHx * HS + i], got[n * ld + i], 0f, f + " backward (" + n + ", " + i + ")");
                    }
                }
            }
        }
    }

    @Test
    void swigluForwardAndBackward() {
        SplittableRandom r = new SplittableRandom(3);
        int n = 1000;
        float[] g = randn(r, n, 3), u = randn(r, n, 1), dh = randn(r, n, 1);
        float[] h = new float[n], dg = new float[n], du = new float[n];
        ScalarMathOps.INSTANCE.swiglu(h, g, u, 0, n);
        ScalarMathOps.INSTANCE.swigluBackward(dg, du, dh, g, u, 0, n);
        try (TestDevice d = new TestDevice(cache)) {
            long pg = d.floats(g), pu = d.floats(u), pdh = d.floats(dh), ph = d.zeros(n);
            long pdg = d.zeros(n), pdu = d.zeros(n);
            d.ops.swigluBackward(pdg, pdu, pdh, pg, pu, n);
            d.ops.swiglu(ph, pg, pu, n);
            assertArrayEquals(h, d.read(ph, n), 0f);
            assertArrayEquals(dg, d.read(pdg, n), 0f);
            assertArrayEquals(du, d.read(pdu, n), 0f);
        }
    }

    @Test
    void dropoutIsTheJavaMaskBitForBit() {
        SplittableRandom r = new SplittableRandom(4);
        int n = 3001;
        float p = 0.1f;
        long seed = Dropout.streamSeed(0x5eedL, 3, 5);
        float[] x = randn(r, n, 1), dxd = randn(r, n, 1), dx0 = randn(r, n, 1);
        float[] xd = new float[n], dx = dx0.clone();
        Dropout.forward(xd, x, n, p, seed);
        Dropout.backward(dx, dxd, n, p, seed);
        int dropped = 0;
        for (float v : xd) if (v == 0f) dropped++;
        assertTrue(dropped > 200 && dropped < 400, "about 10% dropped: " + dropped);
        try (TestDevice d = new TestDevice(cache)) {
            long px = d.floats(x), pxd = d.zeros(n), pdxd = d.floats(dxd), pdx = d.floats(dx0);
            d.ops.dropoutForward(pxd, px, n, p, seed);
            d.ops.dropoutBackward(pdx, pdxd, n, p, seed);
            assertArrayEquals(xd, d.read(pxd, n), 0f);
            assertArrayEquals(dx, d.read(pdx, n), 0f);
            assertThrows(IllegalArgumentException.class, () -> d.ops.dropoutForward(pxd, px, n, 1f, seed));
        }
    }

    @Test
    void attentionWithGqaAndDocumentWindowsMatchesTheCpuLayer() {
        SplittableRandom r = new SplittableRandom(5);
        int B = 2, T = 10, NH = 4, NKV = 2, HS = 8, QD = NH * HS, KVD = NKV * HS;
        float[] q = randn(r, B * T * QD, 1), k = randn(r, B * T * KVD, 1), v = randn(r, B * T * KVD, 1);
        float[] dout = randn(r, B * T * QD, 1);
        // batch 0: one causal document; batch 1: documents [0, 4) and [4, 10), each causal
        int[] lo = new int[B * T], hi = new int[B * T];
        for (int i = 0; i < T; i++) {
            lo[i] = 0;
            hi[i] = i;
            lo[T + i] = i < 4 ? 0 : 4;
            hi[T + i] = i;
        }
        DeviceAttention.checkWindows(lo, hi, B, T);
        int[] bad = hi.clone();
        bad[T + 2] = T;
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> DeviceAttention.checkWindows(lo, bad, B, T));
        assertTrue(e.getMessage().contains("row 2 in batch element 1 is [0, 10]"), e.getMessage());
        ScalarKernels kern = new ScalarKernels();
        float[] out = new float[B * T * QD], probs = new float[B * NH * T * T];
        float[] dq = new float[q.length], dk = new float[k.length], dv = new float[v.length];
        for (int b = 0; b < B; b++) {
            Attention.forward(
                    kern,
                    out,
                    b * T * QD,
                    probs,
                    b * NH * T * T,
                    true,
                    q,
                    b * T * QD,
                    k,
                    b * T * KVD,
                    v,
                    b * T * KVD,
                    lo,
                    hi,
                    b * T,
                    T,
                    T,
                    NH,
                    NKV,
                    HS);
            Attention.backward(
                    kern,
                    dq,
                    b * T * QD,
                    dk,
                    b * T * KVD,
                    dv,
                    b * T * KVD,
                    new float[][] {new float[T * T]},
                    dout,
                    b * T * QD,
                    probs,
                    b * NH * T * T,
                    q,
                    b * T * QD,
                    k,
                    b * T * KVD,
                    v,
                    b * T * KVD,
                    lo,
                    hi,
                    b * T,
                    T,
                    T,
                    NH,
                    NKV,
                    HS);
        }
        try (TestDevice d = new TestDevice(cache)) {
            long pq = d.floats(q), pk = d.floats(k), pv = d.floats(v), po = d.zeros(out.length);
            long pp = d.zeros(probs.length), plo = d.ints(lo), phi = d.ints(hi), pdo = d.floats(dout);
            long pdq = d.zeros(q.length), pdk = d.zeros(k.length), pdv = d.zeros(v.length), pds = d.zeros(probs.length);
            DeviceAttention.Shape s = new DeviceAttention.Shape(B, T, NH, NKV, HS);
            DeviceAttention.forward(d.ops, po, pp, pq, pk, pv, plo, phi, s, GemmCompute.F32_PEDANTIC);
            assertClose(probs, d.read(pp, probs.length), 1e-6, "attention probs");
            assertClose(out, d.read(po, out.length), 1e-6, "attention out");
            DeviceAttention.backward(
                    d.ops, pdq, pdk, pdv, pds, pdo, pp, pq, pk, pv, plo, phi, s, GemmCompute.F32_PEDANTIC);
            assertClose(dq, d.read(pdq, dq.length), 1e-5, "attention dq");
            assertClose(dk, d.read(pdk, dk.length), 1e-5, "attention dk");
            assertClose(dv, d.read(pdv, dv.length), 1e-5, "attention dv");
        }
    }

    @Test
    void lmHeadCrossEntropyMatchesLmHeadLoss() {
        SplittableRandom r = new SplittableRandom(6);
        int N = 7, C = 24, V = 50;
        float[] x = randn(r, N * C, 1), w = randn(r, V * C, 0.3);
        int[] targets = {3, -100, 49, 0, -1, 17, 17};
        float gradScale = 1f / 5;
        float[] dx = new float[N * C], tokenLoss = new float[N];
        double loss = new LmHeadLoss(C, V)
                .forwardBackward(
                        new ScalarKernels(),
                        FrozenLinear.dense(V, C, w, null),
                        dx,
                        x,
                        targets,
                        tokenLoss,
                        N,
                        gradScale);
        try (TestDevice d = new TestDevice(cache)) {
            long px = d.floats(x), pw = d.floats(w), logits = d.zeros((long) N * V), pt = d.ints(targets);
            long pl = d.api.malloc(8L * N), pdx = d.zeros(N * C);
            RowMajorGemm.gemm(
                    d.api,
                    false,
                    true,
                    N,
                    V,
                    C,
                    1f,
                    px,
                    DataType.F32,
                    C,
                    pw,
                    DataType.F32,
                    C,
                    0f,
                    logits,
                    V,
                    GemmCompute.F32_PEDANTIC);
            d.ops.crossEntropy(logits, V, pt, pl, N, V, gradScale, true);
            RowMajorGemm.gemm(
                    d.api,
                    false,
                    false,
                    N,
                    C,
                    V,
                    1f,
                    logits,
                    DataType.F32,
                    V,
                    pw,
                    DataType.F32,
                    C,
                    1f,
                    pdx,
                    C,
                    GemmCompute.F32_PEDANTIC);
            double[] rows = new double[N];
            d.api.copyToHost(rows, 0, N, pl);
            double sum = 0;
            for (int i = 0; i < N; i++) {
                sum += rows[i];
                if (targets[i] < 0) assertEquals(0.0, rows[i], "no target, no loss");
                else assertEquals(tokenLoss[i], (float) rows[i], 0f, "row " + i);
            }
            assertEquals(loss, sum, 0.0, "the summed loss");
            assertClose(dx, d.read(pdx, N * C), 1e-6, "lm head dx");
        }
    }

    @Test
    void elementwiseHelpers() {
        try (TestDevice d = new TestDevice(cache)) {
            float[] table = {0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32}; // 4 rows of 3
            long pt = d.floats(table), out = d.zeros(6);
            d.ops.gatherRows(out, pt, 3, d.ints(new int[] {3, 0}), 2, 3);
            assertArrayEquals(new float[] {30, 31, 32, 0, 1, 2}, d.read(out, 6), 0f);
            d.ops.scatterAddRows(pt, 3, out, d.ints(new int[] {1, 2}), 2, 3);
            assertArrayEquals(new float[] {0, 1, 2, 40, 42, 44, 20, 22, 24, 30, 31, 32}, d.read(pt, 12), 0f);
            d.ops.add(out, d.floats(new float[] {1, 1, 1, 1, 1, 1}), 6);
            assertArrayEquals(new float[] {31, 32, 33, 1, 2, 3}, d.read(out, 6), 0f);
            d.ops.addBiasRows(pt, 3, d.floats(new float[] {100, 200}), 2, 2); // two columns of the first two rows
            assertArrayEquals(new float[] {100, 201, 2, 140, 242, 44}, java.util.Arrays.copyOf(d.read(pt, 12), 6), 0f);
            float[] f = {1.00390625f, -3.0f, Float.NaN, 1e-40f};
            long pb = d.api.malloc(8);
            d.ops.toBf16(pb, d.floats(f), 4);
            short[] b = new short[4];
            d.api.copyToHost(b, 0, 4, pb);
            for (int i = 0; i < 4; i++) assertEquals(Halfs.floatToBf16(f[i]), b[i], "bf16 of " + f[i]);
        }
    }
}
