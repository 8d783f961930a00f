package io.lakelora.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.util.Rng;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LoraInitTest {

    private static AdapterState state(int r, Set<TargetModule> t) {
        return new AdapterState(new AdapterLayout(2, 64, 64, 32, 96, r, t));
    }

    private static LoraConfig cfg(int r, double alpha, String... targets) {
        return LoraConfig.of(r, alpha, List.of(targets));
    }

    @Test
    void kaimingBoundIsTorchs() {
        // torch.nn.init.kaiming_uniform_(a=sqrt(5)) bound = 1/sqrt(fan_in): 1/8 for 64, 1/sqrt(96) for 96
        assertEquals(0.125, LoraInit.kaimingBound(64), 1e-16);
        assertEquals(1 / Math.sqrt(96), LoraInit.kaimingBound(96), 1e-16);
    }

    @Test
    void defaultInitIsKaimingAZeroBDeterministicAndPerTensor() {
        AdapterState s = state(8, EnumSet.of(TargetModule.Q, TargetModule.DOWN));
        LoraInit.initialize(s, cfg(8, 16, "q_proj", "down_proj"), 42, null, null);
        double sum = 0, sumSq = 0;
        int n = 0;
        for (AdapterLayout.Tensor t : s.layout().tensors()) {
            float[] v = AdapterState.copyOf(s.params(), t);
            if (t.isA()) {
                double bound = 1 / Math.sqrt(t.cols());
                for (float x : v) {
                    assertTrue(Math.abs(x) <= bound, t.peftKey() + " value " + x + " outside +-" + bound);
                    if (t.module() == TargetModule.Q) {
                        sum += x;
                        sumSq += (double) x * x;
                        n++;
                    }
                }
            } else {
                for (float x : v) assertEquals(0f, x, t.peftKey());
            }
        }
        // U(-1/8, 1/8): mean 0, variance (1/8)^2 / 3 over 2 * 8 * 64 = 1024 draws
        assertEquals(0, sum / n, 0.01);
        assertEquals(1.0 / 64 / 3, sumSq / n, 0.0015);

        AdapterState again = state(8, EnumSet.of(TargetModule.Q, TargetModule.DOWN));
        LoraInit.initialize(again, cfg(8, 16, "q_proj", "down_proj"), 42, null, null);
        assertArrayEquals(s.params(), again.params());
        AdapterState other = state(8, EnumSet.of(TargetModule.Q, TargetModule.DOWN));
        LoraInit.initialize(other, cfg(8, 16, "q_proj", "down_proj"), 43, null, null);
        assertFalse(java.util.Arrays.equals(s.params(), other.params()));

        // q_proj's A does not depend on which other modules are targeted
        AdapterState onlyQ = state(8, EnumSet.of(TargetModule.Q));
        LoraInit.initialize(onlyQ, cfg(8, 16, "q_proj"), 42, null, null);
        AdapterLayout.Tensor a = onlyQ.layout().find(1, TargetModule.Q, true);
        assertArrayEquals(
                AdapterState.copyOf(onlyQ.params(), a),
                AdapterState.copyOf(s.params(), s.layout().find(1, TargetModule.Q, true)));
    }

    @Test
    void gaussianHasStdOneOverR() {
        AdapterState s = state(4, EnumSet.allOf(TargetModule.class));
        LoraInit.initialize(s, cfg(4, 8, "all-linear").withInit("gaussian"), 1, null, null);
        double sumSq = 0;
        int n = 0;
        for (AdapterLayout.Tensor t : s.layout().tensors()) {
            for (float x : AdapterState.copyOf(s.params(), t)) {
                if (t.isA()) {
                    sumSq += (double) x * x;
                    n++;
                } else {
                    assertEquals(0f, x);
                }
            }
        }
        assertEquals(0.25, Math.sqrt(sumSq / n), 0.01); // std 1/r = 0.25 over ~6000 draws
    }

    @Test
    void falseKeepsLinearDefaultsSoBIsNonZero() {
        AdapterState s = state(4, EnumSet.of(TargetModule.V));
        LoraInit.initialize(s, cfg(4, 8, "v_proj").withInit(false), 1, null, null);
        AdapterLayout.Tensor b = s.layout().find(0, TargetModule.V, false);
        float[] v = AdapterState.copyOf(s.params(), b);
        double bound = 0.5; // 1/sqrt(fan_in = r = 4)
        boolean nonZero = false;
        for (float x : v) {
            assertTrue(Math.abs(x) <= bound);
            nonZero |= x != 0;
        }
        assertTrue(nonZero);
    }

    private static float[] lowRankPlusNoise(int rows, int cols, long seed) {
        return lowRankPlusNoise(rows, cols, seed, 8);
    }

    private static float[] lowRankPlusNoise(int rows, int cols, long seed, int outliers) {
        // a rank-4 component (scale ~1) plus small noise and a few outliers: the shape of real weights
        Rng rng = new Rng(seed);
        float[] w = new float[rows * cols];
        double[] l = new double[rows * 4];
        double[] r = new double[4 * cols];
        for (int i = 0; i < l.length; i++) l[i] = rng.nextGaussian();
        for (int i = 0; i < r.length; i++) r[i] = rng.nextGaussian() * 0.25;
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                double v = 0.05 * rng.nextGaussian();
                for (int t = 0; t < 4; t++) v += l[i * 4 + t] * r[t * cols + j];
                w[i * cols + j] = (float) v;
            }
        }
        for (int k = 0; k < outliers; k++) w[rng.nextInt(w.length)] *= 6;
        return w;
    }

    @Test
    void pissaPutsTheTopSingularTripletsIntoTheAdapterAndTheRestIntoTheBase() {
        int out = 32, in = 64, r = 4;
        AdapterState s = new AdapterState(new AdapterLayout(1, 64, 32, 32, 96, r, EnumSet.of(TargetModule.Q)));
        FakeBase base = new FakeBase(false, out, in);
        float[] w = lowRankPlusNoise(out, in, 5);
        base.put(0, TargetModule.Q, w);
        LoraConfig c = cfg(r, 8, "q_proj").withInit("pissa"); // scaling 2
        LoraInit.Report rep = LoraInit.initialize(s, c, 0, base, null);
        assertEquals(1, rep.modules().size());
        assertTrue(rep.modules().get(0).init() < 1e-6, "fp32 base: W = residual + scaling B A up to rounding");

        double[] wd = new double[w.length];
        for (int i = 0; i < w.length; i++) wd[i] = w[i];
        Svd.Result svd = Svd.thin(wd, out, in);
        float[] a = AdapterState.copyOf(s.params(), s.layout().find(0, TargetModule.Q, true));
        float[] b = AdapterState.copyOf(s.params(), s.layout().find(0, TargetModule.Q, false));
        // PiSSA: A A^T = diag(S_r / scaling) and B^T B = diag(S_r / scaling)
        for (int p = 0; p < r; p++) {
            for (int q = 0; q < r; q++) {
                double aa = 0, bb = 0;
                for (int j = 0; j < in; j++) aa += (double) a[p * in + j] * a[q * in + j];
                for (int i = 0; i < out; i++) bb += (double) b[i * r + p] * b[i * r + q];
                double expect = p == q ? svd.s()[p] / 2.0 : 0;
                assertEquals(expect, aa, 1e-5 * svd.s()[0]);
                assertEquals(expect, bb, 1e-5 * svd.s()[0]);
            }
        }
        // the residual's largest singular value is the (r+1)-th of W
        float[] res = base.dequantized(0, TargetModule.Q);
        double[] rd = new double[res.length];
        for (int i = 0; i < res.length; i++) rd[i] = res[i];
        assertEquals(svd.s()[r], Svd.thin(rd, out, in).s()[0], 1e-5 * svd.s()[0]);
    }

    @Test
    void pissaNiterApproximatesExactPissa() {
        int out = 32, in = 64, r = 4;
        float[] w = lowRankPlusNoise(out, in, 6, 0); // a clear gap after sigma_4: subspace iteration converges
        AdapterState exact = new AdapterState(new AdapterLayout(1, 64, 32, 32, 96, r, EnumSet.of(TargetModule.Q)));
        FakeBase b1 = new FakeBase(false, out, in);
        b1.put(0, TargetModule.Q, w);
        LoraInit.initialize(exact, cfg(r, 4, "q_proj").withInit("pissa"), 0, b1, null);
        AdapterState fast = new AdapterState(exact.layout());
        FakeBase b2 = new FakeBase(false, out, in);
        b2.put(0, TargetModule.Q, w);
        LoraInit.initialize(fast, cfg(r, 4, "q_proj").withInit("pissa_niter_8"), 0, b2, null);
        float[] r1 = b1.dequantized(0, TargetModule.Q);
        float[] r2 = b2.dequantized(0, TargetModule.Q);
        double maxDiff = 0;
        for (int i = 0; i < r1.length; i++) maxDiff = Math.max(maxDiff, Math.abs(r1[i] - r2[i]));
        assertTrue(maxDiff < 1e-3, "residual of pissa_niter_8 vs exact pissa differs by " + maxDiff);
    }

    @Test
    void loftqAndPissaBeatPlainNf4() {
        int out = 64, in = 128, r = 8;
        Set<TargetModule> t = EnumSet.of(TargetModule.Q);
        AdapterLayout layout = new AdapterLayout(1, 128, 64, 64, 256, r, t);
        float[] w = lowRankPlusNoise(out, in, 9);

        double[] errs = new double[4];
        String[] inits = {"pissa", "loftq", "loftq", "loftq"};
        int[] iters = {1, 1, 2, 5};
        double plain = Double.NaN;
        for (int k = 0; k < inits.length; k++) {
            FakeBase base = new FakeBase(true, out, in);
            base.put(0, TargetModule.Q, w);
            AdapterState s = new AdapterState(layout);
            LoraConfig c = cfg(r, 16, "q_proj").withInit(inits[k]).withLoftqIter(iters[k]);
            LoraInit.Report rep = LoraInit.initialize(s, c, 0, base, QuantRoundTrip.nf4());
            errs[k] = rep.meanInit();
            plain = rep.meanPlain();
        }
        System.out.printf(
                "init error |W - (deq(Q) + s*B*A)|/|W| on a 64x128 rank-4 + noise matrix, r=8:%n"
                        + "  plain NF4 %.5f  pissa %.5f  loftq(1) %.5f  loftq(2) %.5f  loftq(5) %.5f%n",
                plain, errs[0], errs[1], errs[2], errs[3]);
        assertTrue(errs[0] < plain, "pissa " + errs[0] + " vs plain " + plain);
        assertTrue(errs[1] < plain, "loftq " + errs[1] + " vs plain " + plain);
        assertTrue(errs[3] <= errs[1] * 1.001, "more LoftQ rounds should not be worse");
    }

    @Test
    void loftqBaseSurvivesRequantization() {
        // LoftQ hands the model deq(Q) (as PEFT does); re-quantizing it with the same NF4 settings must not move it
        float[] w = lowRankPlusNoise(64, 128, 4);
        QuantRoundTrip nf4 = QuantRoundTrip.nf4();
        float[] once = nf4.apply(w, 64, 128);
        assertArrayEquals(once, nf4.apply(once, 64, 128));
    }

    @Test
    void mismatchesAreErrors() {
        AdapterState s = state(8, EnumSet.of(TargetModule.Q));
        assertThrows(IllegalArgumentException.class, () -> LoraInit.initialize(s, cfg(4, 8, "q_proj"), 0, null, null));
        assertThrows(IllegalArgumentException.class, () -> LoraInit.initialize(s, cfg(8, 8, "v_proj"), 0, null, null));
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> LoraInit.initialize(s, cfg(8, 8, "q_proj").withInit("pissa"), 0, null, null));
        assertTrue(e.getMessage().contains("needs the base weights"));
        FakeBase tiny = new FakeBase(false, 4, 4);
        AdapterState big = new AdapterState(new AdapterLayout(1, 4, 4, 4, 4, 8, EnumSet.of(TargetModule.Q)));
        tiny.put(0, TargetModule.Q, new float[16]);
        e = assertThrows(
                IllegalArgumentException.class,
                () -> LoraInit.initialize(big, cfg(8, 8, "q_proj").withInit("pissa"), 0, tiny, null));
        assertTrue(e.getMessage().contains("r <= min(out, in)"), e.getMessage());
    }
}
