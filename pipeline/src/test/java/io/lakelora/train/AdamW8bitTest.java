package io.lakelora.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.TargetModule;
import io.lakelora.quant.DynamicMap;
import io.lakelora.util.Rng;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * {@link AdamW8bit} against a scalar reference written here from bitsandbytes' documented 8-bit block-wise Adam
 * (kernel {@code kOptimizerStatic8bit2StateBlockwise}, ADAM case; {@code create_dynamic_map}), against fp32
 * {@link AdamW} on a small problem, and its state size on the Llama-3-8B shape.
 */
class AdamW8bitTest {

    /** Tensors of 3x40, 40x3 (q: short blocks), 3x100, 300x3 (down: a full block plus a short one), two layers. */
    private static final AdapterLayout LAYOUT =
            new AdapterLayout(2, 40, 40, 24, 100, 3, EnumSet.of(TargetModule.Q, TargetModule.V, TargetModule.DOWN));

    /**
     * The reference: per tensor, blocks of 256; per block dequantize -> Adam in fp32 -> new absmax -> update p ->
     * requantize, each element on its own, codes found by a linear scan over the midpoints of the sorted map.
     */
    static final class Reference {
        final float[] code1 = DynamicMap.signed();
        final float[] code2 = DynamicMap.unsigned();
        final int[] q1;
        final int[] q2;
        final float[] absmax1;
        final float[] absmax2;
        final int[] sizes;
        final float b1;
        final float b2;
        final float eps;
        final float wd;

        Reference(AdapterLayout layout, double b1, double b2, double eps, double wd) {
            sizes = layout.tensors().stream()
                    .mapToInt(AdapterLayout.Tensor::size)
                    .toArray();
            int blocks = 0;
            for (int s : sizes) blocks += (s + 255) / 256;
            q1 = new int[layout.size()];
            q2 = new int[layout.size()];
            absmax1 = new float[blocks];
            absmax2 = new float[blocks];
            this.b1 = (float) b1;
            this.b2 = (float) b2;
            this.eps = (float) eps;
            this.wd = (float) wd;
        }

        /**
         * Nearest code: count the midpoints (code[k] + code[k+1]) * 0.5f that x lies above; a value exactly on a
         * midpoint goes to the even index of the two; NaN (0/0 in an all-zero block) gets code 0.
         */
        static int nearest(float[] code, float x) {
            int idx = 0;
            for (int k = 0; k < 255; k++) {
                float mid = (code[k] + code[k + 1]) * 0.5f;
                if (x > mid || (x == mid && (k + 1) % 2 == 0)) idx = k + 1;
            }
            return idx;
        }

        void step(float[] p, float[] g, long t, float lr) {
            float c1 = 1.0f - (float) Math.pow(b1, t);
            float c2 = (float) Math.sqrt(1.0f - (float) Math.pow(b2, t));
            float stepSize = -lr * c2 / c1;
            int block = 0;
            int base = 0;
            for (int size : sizes) {
                for (int start = 0; start < size; start += 256, block++) {
                    int end = Math.min(size, start + 256);
                    float[] m = new float[end - start];
                    float[] v = new float[end - start];
                    float new1 = -Float.MAX_VALUE;
                    float new2 = -Float.MAX_VALUE;
                    for (int j = start; j < end; j++) {
                        float gj = g[base + j];
                        if (!Float.isNaN(gj) && !Float.isInfinite(gj)) {
                            v[j - start] = code2[q2[base + j]] * absmax2[block] * b2 + (1.0f - b2) * gj * gj;
                            m[j - start] = code1[q1[base + j]] * absmax1[block] * b1 + (1.0f - b1) * gj;
                        }
                        new1 = Math.max(new1, Math.abs(m[j - start]));
                        new2 = Math.max(new2, Math.abs(v[j - start]));
                    }
                    if (end - start < 256) {
                        // the kernel's padded lanes: gradient 0, state1 code 128, state2 code 0
                        new1 = Math.max(new1, Math.abs(code1[128] * absmax1[block] * b1));
                        new2 = Math.max(new2, Math.abs(code2[0] * absmax2[block] * b2));
                    }
                    absmax1[block] = new1;
                    absmax2[block] = new2;
                    for (int j = start; j < end; j++) {
                        int i = base + j;
                        float gj = g[i];
                        if (Float.isNaN(gj) || Float.isInfinite(gj)) continue;
                        float mj = m[j - start];
                        float vj = v[j - start];
                        p[i] = p[i] + stepSize * (mj / ((float) Math.sqrt(vj) + c2 * eps));
                        if (wd > 0) p[i] = p[i] * (1.0f - lr * wd);
                    }
                    for (int j = start; j < end; j++) {
                        int i = base + j;
                        float mj = m[j - start];
                        int c = nearest(code1, mj / new1);
                        boolean codeNegative = Float.floatToRawIntBits(code1[c]) < 0;
                        boolean mNegative = Float.floatToRawIntBits(mj) < 0;
                        if (codeNegative != mNegative) c = mj > 0 ? c + 1 : c - 1;
                        q1[i] = Math.floorMod(c, 256);
                        q2[i] = nearest(code2, v[j - start] / new2);
                    }
                }
                base += size;
            }
        }
    }

    private static float[] gradient(Rng rng, int n, int step) {
        float[] g = new float[n];
        double scale = Math.pow(10, -3 + (step % 5)); // magnitudes move over 5 decades
        for (int i = 0; i < n; i++) {
            double u = rng.nextDouble();
            if (u < 0.05) g[i] = 0f; // exact zeros
            else if (u < 0.06) g[i] = -0.0f;
            else g[i] = (float) (rng.nextGaussian() * scale * (i % 7 == 0 ? 30 : 1));
        }
        if (step % 50 == 7) g[step % n] = Float.NaN; // a non-finite gradient leaves p alone and zeroes m, v
        if (step % 50 == 21) g[(step * 3) % n] = Float.NEGATIVE_INFINITY;
        if (step == 100) {
            // a short block whose gradients are all non-finite: its m is all zero, so only the kernel's padded lanes
            // (code 128 of the old absmax) keep absmax1 above zero
            for (int i = 0; i < 120; i++) g[i] = Float.NaN;
        }
        if (step < 3) {
            for (int i = 0; i < 120; i++) g[i] = 0f; // an all-zero first block: absmax 0, 0/0 in the quantizer
        }
        return g;
    }

    @Test
    void matchesTheScalarReferenceBitForBitOver300Steps() {
        int n = LAYOUT.size();
        AdamW8bit opt = new AdamW8bit(0.9, 0.995, 1e-8, 0.01);
        OptimizerState st = opt.newState(LAYOUT);
        Reference ref = new Reference(LAYOUT, 0.9, 0.995, 1e-8, 0.01);
        Rng rng = new Rng(20261207);
        float[] p = new float[n];
        for (int i = 0; i < n; i++) p[i] = (float) (rng.nextGaussian() * 0.02);
        float[] pRef = p.clone();
        LrSchedule lr = new LrSchedule(LrSchedule.Type.COSINE, 2e-3, 10, 300);
        int sign1Flips = 0;
        for (int t = 1; t <= 300; t++) {
            float[] g = gradient(rng, n, t);
            opt.update(p, g, st, t, lr.lr(t - 1));
            ref.step(pRef, g.clone(), t, (float) lr.lr(t - 1));
            for (int i = 0; i < n; i++) {
                if (Float.floatToRawIntBits(p[i]) != Float.floatToRawIntBits(pRef[i])) {
                    throw new AssertionError("step " + t + " param " + i + ": " + p[i] + " vs reference " + pRef[i]);
                }
                int c1 = st.bytes("state1")[i] & 0xFF;
                assertEquals(ref.q1[i], c1, "step " + t + " state1[" + i + "]");
                assertEquals(ref.q2[i], st.bytes("state2")[i] & 0xFF, "step " + t + " state2[" + i + "]");
                if (c1 == 126 || c1 == 128) sign1Flips++;
            }
            assertArrayEquals(ref.absmax1, st.floats("absmax1"), "step " + t + " absmax1");
            assertArrayEquals(ref.absmax2, st.floats("absmax2"), "step " + t + " absmax2");
        }
        System.out.printf(
                Locale.ROOT,
                "AdamW8bit vs scalar reference: %d params (%d blocks), 300 steps, bit-identical; p[0] = %s%n",
                n,
                st.floats("absmax1").length,
                p[0]);
        assertTrue(sign1Flips > 0, "the smallest codes around zero were exercised");
    }

    @Test
    void zeroBlockFirstStepAndNonFiniteGradients() {
        AdamW8bit opt = new AdamW8bit(0.9, 0.999, 1e-8, 0);
        OptimizerState st = opt.newState(LAYOUT);
        int n = LAYOUT.size();
        float[] p = new float[n];
        java.util.Arrays.fill(p, 1f);
        float[] g = new float[n];
        java.util.Arrays.fill(g, 0.5f);
        for (int i = 0; i < 120; i++) g[i] = 0f; // tensor 0 (3x40) all zero
        g[200] = Float.NaN;
        opt.update(p, g, st, 1, 1e-3);
        assertEquals(0f, st.floats("absmax1")[0]);
        assertEquals(1f, p[0], "zero gradient, zero moments: no move");
        assertEquals(1f, p[200], "a NaN gradient leaves its parameter alone");
        // first step of Adam moves by lr * sign(g) (m_hat / sqrt(v_hat) = 1), to fp32 rounding
        assertEquals(1f - 1e-3f, p[300], 1e-6f);
        float[][] mv = opt.moments(st);
        assertEquals(0f, mv[0][0]);
        assertEquals(0f, mv[0][200]);
        assertEquals(0.05f, mv[0][300], 0.05f * 0.01f, "m = 0.1 g, the block's absmax, within the map's 1% steps");
        assertEquals(0.00025f, mv[1][300], 0.00025f * 0.01f, "v = 0.001 g^2");
    }

    /**
     * 8-bit states track fp32 AdamW on a least-squares problem (256 unknowns, 512 random equations, so one minimiser;
     * full gradient, lr 1e-2 with cosine decay to 0 over 400 steps). Tolerance: the maps step by at most 1.4% (m) and
     * 0.7% (v) of the block's absmax in its top decade, coarser below, so single updates differ by a few percent; Adam
     * normalises the steps and the error does not compound: at steps 25, 50, 100, 200 and 400 the losses must agree
     * within 1% (measured: at most 0.43%). The parameters may differ more along the problem's ill-conditioned directions,
     * which barely change the loss and are not converged after 400 steps: within 10% (relative L2; measured 5.2%).
     * That the 8-bit states are really quantized: the trajectories are not identical.
     */
    @Test
    void tracksFp32AdamWOnASmallProblem() {
        int n = 256;
        int rows = 512;
        Rng rng = new Rng(3);
        float[][] a = new float[rows][n];
        float[] b = new float[rows];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < n; c++) a[r][c] = (float) (rng.nextGaussian() / Math.sqrt(n));
            b[r] = (float) rng.nextGaussian();
        }
        AdapterLayout one = new AdapterLayout(1, 64, 64, 64, 64, 2, EnumSet.of(TargetModule.Q)); // 2 x 128 = 256
        assertEquals(n, one.size());
        Optimizer[] opts = {new AdamW(0.9, 0.999, 1e-8, 0.0), new AdamW8bit(0.9, 0.999, 1e-8, 0.0)};
        List<Integer> marks = List.of(1, 25, 50, 100, 200, 400);
        double[][] losses = new double[2][marks.size()];
        float[][] params = new float[2][];
        LrSchedule lr = new LrSchedule(LrSchedule.Type.COSINE, 1e-2, 0, 400);
        for (int k = 0; k < 2; k++) {
            OptimizerState st = opts[k].newState(one);
            float[] p = new float[n];
            for (int t = 1; t <= 400; t++) {
                float[] g = new float[n];
                double l = 0;
                for (int r = 0; r < rows; r++) {
                    double res = -b[r];
                    for (int c = 0; c < n; c++) res += a[r][c] * p[c];
                    l += 0.5 * res * res;
                    for (int c = 0; c < n; c++) g[c] += (float) (res * a[r][c]);
                }
                if (marks.contains(t)) losses[k][marks.indexOf(t)] = l;
                opts[k].update(p, g, st, t, lr.lr(t - 1));
            }
            params[k] = p;
        }
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < n; i++) {
            diff += Math.pow(params[0][i] - params[1][i], 2);
            norm += Math.pow(params[0][i], 2);
        }
        double rel = Math.sqrt(diff / norm);
        StringBuilder sb = new StringBuilder();
        for (int j = 0; j < marks.size(); j++) {
            sb.append(String.format(Locale.ROOT, " %d: %.4f/%.4f", marks.get(j), losses[0][j], losses[1][j]));
        }
        System.out.printf(
                Locale.ROOT,
                "least squares, loss fp32/8-bit at step%s; final params differ by %.3f%% (L2)%n",
                sb,
                100 * rel);
        for (int j = 0; j < marks.size(); j++) {
            assertEquals(losses[0][j], losses[1][j], 0.01 * losses[0][j], "loss at step " + marks.get(j));
        }
        assertTrue(losses[0][5] < 0.7 * losses[0][0], "fp32 AdamW made progress");
        assertTrue(rel < 0.10, "8-bit parameters within 10% of fp32's, got " + rel);
        assertTrue(rel > 0, "8-bit states are quantized, so the runs differ");
    }

    /**
     * The fp32 view local SGD averages: dequantized m and v, and setting them back requantizes block-wise, moving each
     * value by at most about one code step (2% of the block's absmax here). Not lossless: a block whose largest m is
     * negative maps to code -0.99297, so its absmax shrinks by that factor per round trip.
     */
    @Test
    void fp32ViewRoundTripsThroughTheCodes() {
        AdamW8bit opt = new AdamW8bit(0.9, 0.999, 1e-8, 0);
        OptimizerState st = opt.newState(LAYOUT);
        Rng rng = new Rng(11);
        float[] p = new float[LAYOUT.size()];
        for (int t = 1; t <= 5; t++) opt.update(p, gradient(rng, p.length, t + 10), st, t, 1e-3);
        float[][] mv = opt.moments(st);
        OptimizerState back = opt.newState(LAYOUT);
        opt.setMoments(back, mv);
        float[][] again = opt.moments(back);
        for (int i = 0; i < p.length; i++) {
            assertEquals(mv[0][i], again[0][i], 0.02f * Math.abs(st.floats("absmax1")[0]) + 1e-30f, "m " + i);
        }
        for (int i = 0; i < p.length; i++) {
            assertEquals(mv[1][i], again[1][i], 0.02f * Math.abs(st.floats("absmax2")[0]) + 1e-30f, "v " + i);
        }
    }

    /** Optimizer-state bytes from the declared slabs for r=16 on all linear layers of Llama-3-8B. */
    @Test
    void stateMemoryOnLlama3_8B() {
        // Llama-3-8B: 32 layers, hidden 4096, q 32x128 = 4096, kv 8x128 = 1024, intermediate 14336
        AdapterLayout l = new AdapterLayout(32, 4096, 4096, 1024, 14336, 16, EnumSet.allOf(TargetModule.class));
        // per layer: q 16x4096 + 4096x16, k and v 16x4096 + 1024x16, o 16x4096 + 4096x16, gate/up/down 16x4096 +
        // 14336x16: 131072 * 2 + 81920 * 2 + 294912 * 3 = 1,310,720; x 32
        long n = 41_943_040L;
        assertEquals(n, l.size());
        long fp32 = new AdamW(0.9, 0.999, 1e-8, 0).stateBytes(l);
        long eight = new AdamW8bit(0.9, 0.999, 1e-8, 0).stateBytes(l);
        assertEquals(8 * n, fp32); // m, v fp32
        assertEquals(2 * n + 8 * (n / 256), eight); // every tensor is a multiple of 256: n / 256 blocks, 2 absmax each
        System.out.printf(
                Locale.ROOT,
                "optimizer state, Llama-3-8B r=16 all-linear (%,d params): adamw %,d B (%.2f MiB), adamw8bit %,d B"
                        + " (%.2f MiB, of which absmax %,d B): %.2fx smaller%n",
                n,
                fp32,
                fp32 / 1048576.0,
                eight,
                eight / 1048576.0,
                8 * (n / 256),
                (double) fp32 / eight);
    }

    @Test
    void unsignedDynamicMapIsBitsandbytesConstruction() {
        float[] u = DynamicMap.unsigned();
        assertEquals(256, u.length);
        assertEquals(0f, u[0]);
        assertEquals(1f, u[255]);
        for (int i = 1; i < 256; i++) assertTrue(u[i - 1] < u[i], "sorted at " + i);
        // create_dynamic_map(signed=False): exponent i holds the 2^(i+1) means of linspace(0.1, 1, 2^(i+1) + 1)
        // times 10^(i-6): exactly 0.1 + 0.9 (2k + 1) / 2^(i+2), in fp32 up to rounding of the linspace
        int idx = 1;
        for (int i = 0; i < 7; i++) {
            int count = 1 << (i + 1);
            for (int k = 0; k < count; k++, idx++) {
                double exact = Math.pow(10, i - 6) * (0.1 + 0.9 * (2 * k + 1) / (2.0 * count));
                assertEquals(exact, u[idx], exact * 1e-6, "unsigned map entry " + idx);
            }
        }
        assertEquals(255, idx);
    }

    @Test
    void unknownOptimizerTypeIsAClearError() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> TrainConfig.load(List.of(), List.of("optimizer.type=adam9bit")));
        assertTrue(
                e.getMessage().contains("optimizer.type 'adam9bit'")
                        && e.getMessage().contains("adamw, adamw8bit")
                        && e.getMessage().contains("Fix:"),
                e.getMessage());
        TrainConfig c = TrainConfig.load(List.of(), List.of("optimizer.type=adamw8bit"));
        assertEquals("adamw8bit", c.optimizer().type());
        assertTrue(c.optimizer().build() instanceof AdamW8bit);
        assertTrue(TrainConfig.load(List.of(), List.of()).optimizer().build() instanceof AdamW);
        // adamw stays out of the hashed JSON (runs keep their hashes); another type changes the trajectory
        assertEquals(
                TrainConfig.load(List.of(), List.of()).trajectoryHash(),
                TrainConfig.load(List.of(), List.of("optimizer.type=adamw")).trajectoryHash());
        assertTrue(!c.trajectoryHash()
                .equals(TrainConfig.load(List.of(), List.of()).trajectoryHash()));
    }
}
