package io.lakelora.bench;

import io.lakelora.kernel.ScalarKernels;
import io.lakelora.kernel.ScalarMathOps;
import io.lakelora.kernel.cuda.CubinCache;
import io.lakelora.kernel.cuda.CudaApi;
import io.lakelora.kernel.cuda.CudaModules;
import io.lakelora.kernel.cuda.DataType;
import io.lakelora.kernel.cuda.DeviceArena;
import io.lakelora.kernel.cuda.DeviceAttention;
import io.lakelora.kernel.cuda.DeviceLora;
import io.lakelora.kernel.cuda.DeviceOps;
import io.lakelora.kernel.cuda.DeviceQuantMatrix;
import io.lakelora.kernel.cuda.FrozenGemm;
import io.lakelora.kernel.cuda.GemmCompute;
import io.lakelora.kernel.cuda.RopeTables;
import io.lakelora.kernel.cuda.RowMajorGemm;
import io.lakelora.model.Architecture;
import io.lakelora.model.ModelConfig;
import io.lakelora.model.RopeScaling;
import io.lakelora.model.nn.Attention;
import io.lakelora.model.nn.Dropout;
import io.lakelora.model.nn.FrozenLinear;
import io.lakelora.model.nn.LmHeadLoss;
import io.lakelora.model.nn.Lora;
import io.lakelora.model.nn.Rope;
import io.lakelora.quant.QuantType;
import io.lakelora.quant.QuantizedMatrix;
import io.lakelora.quant.Quantizer;
import io.lakelora.safetensors.Halfs;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Every CUDA operation on a {@link CudaApi} against the Java engine it mirrors: the quantized decode bit for bit
 * against {@link QuantizedMatrix#get}, RoPE and dropout bit for bit against {@code model.nn}, and the rest within a
 * stated error, normalized by the largest reference value: the fp32 GEMMs (TF32 off) and the frozen products against
 * {@link ScalarKernels}, RMSNorm and SwiGLU against {@link ScalarMathOps}, attention (GQA, two documents) against
 * {@link Attention}, cross-entropy against {@link LmHeadLoss}, bf16 frozen products against the fp32 product of the
 * bf16-rounded operands, a frozen layer with its LoRA path (dropout on and off) against {@link FrozenLinear} +
 * {@link Lora}. On the fake API (CI) it runs small shapes; {@code bin/gpu-check} runs it on a GPU with
 * larger ones ({@code bin/lakelora gpu-check}).
 */
public final class CudaOpsCheck {
    private CudaOpsCheck() {}

    /** One comparison: its name, whether it passed, the error found and the bound (0: bit for bit). */
    public record Result(String name, boolean pass, double error, double bound) {}

    /** Shape sizes: small for the fake, larger (real layer widths) for a GPU. */
    public record Sizes(int rows, int cols, int N, int C, int T, int V) {
        public static Sizes small() {
            return new Sizes(40, 128, 6, 96, 12, 64);
        }

        public static Sizes gpu() {
            return new Sizes(1024, 4096, 64, 4096, 256, 32000);
        }
    }

    private static final class Run {
        final List<Result> results = new ArrayList<>();
        final PrintStream log;

        Run(PrintStream log) {
            this.log = log;
        }

        void exact(String name, float[] want, float[] got) {
            int bad = 0;
            for (int i = 0; i < want.length; i++) {
                if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) bad++;
            }
            add(new Result(name + " (" + want.length + " values, " + bad + " differ)", bad == 0, bad, 0));
        }

        void close(String name, float[] want, float[] got, double bound) {
            double maxRef = 0, maxErr = 0;
            for (int i = 0; i < want.length; i++) {
                maxRef = Math.max(maxRef, Math.abs(want[i]));
                double e = Math.abs((double) want[i] - got[i]);
                maxErr = Double.isNaN(e) ? Double.POSITIVE_INFINITY : Math.max(maxErr, e);
            }
            double err = maxErr / Math.max(maxRef, 1e-30);
            add(new Result(name, err <= bound, err, bound));
        }

        void add(Result r) {
            results.add(r);
            log.printf(
                    Locale.ROOT,
                    "%-4s %-62s error %.3g (bound %.3g)%n",
                    r.pass() ? "ok" : "FAIL",
                    r.name(),
                    r.error(),
                    r.bound());
        }
    }

    /** Runs every check on {@code api}, compiling the kernels through a cache in {@code cubinCache}. */
    public static List<Result> run(CudaApi api, Path cubinCache, Sizes s, PrintStream log) {
        long t0 = System.nanoTime();
        DeviceOps ops = new DeviceOps(api, CudaModules.load(api, new CubinCache(cubinCache)));
        log.printf(
                Locale.ROOT,
                "device: %s (%s), kernels loaded in %.1f s%n",
                api.device().name(),
                api.device().sm(),
                (System.nanoTime() - t0) / 1e9);
        Run r = new Run(log);
        List<Long> allocs = new ArrayList<>();
        // the four decoded formats and the frozen weight: at most 1 byte per value each, plus their absmax arrays
        long arenaBytes = 16L * (s.rows() + 3) * (s.cols() + 5) + (1 << 20); // 7 weights
        try (DeviceArena arena = new DeviceArena(api, "check weights", arenaBytes)) {
            Mem m = new Mem(api, allocs);
            section(r, "decode", () -> decode(r, m, ops, arena, s));
            section(r, "sgemm", () -> gemms(r, m, api, s));
            section(r, "frozen products", () -> frozen(r, m, ops, arena, s));
            section(r, "lora linear", () -> loraLinear(r, m, ops, arena, s, 0.1f));
            section(r, "lora linear", () -> loraLinear(r, m, ops, arena, s, 0f));
            section(r, "row and element-wise ops", () -> rowOps(r, m, ops, s));
            section(r, "attention", () -> attention(r, m, ops, s));
            section(r, "cross-entropy", () -> crossEntropy(r, m, ops, api, s));
            section(r, "synchronize", api::synchronize);
        } finally {
            for (long a : allocs) {
                try {
                    api.free(a);
                } catch (RuntimeException e) {
                    log.println("could not free a check buffer: " + e.getMessage());
                }
            }
        }
        long failed = r.results.stream().filter(x -> !x.pass()).count();
        log.printf("%d checks, %d failed%n", r.results.size(), failed);
        return r.results;
    }

    /**
     * Runs one group of checks; an exception (a failed launch, an illegal address) becomes one failed result naming
     * it, and the next group still runs (after an illegal address the device context is lost, so later groups
     * usually fail the same way; the first failure is the one to read).
     */
    private static void section(Run r, String name, Runnable body) {
        try {
            body.run();
        } catch (RuntimeException e) {
            r.add(new Result(name + ": " + e, false, Double.POSITIVE_INFINITY, 0));
        }
    }

    /** Device buffers for the checks, freed at the end. */
    private record Mem(CudaApi api, List<Long> allocs) {
        long floats(float[] v) {
            long p = api.malloc(4L * Math.max(1, v.length));
            allocs.add(p);
            api.copyToDevice(p, v, 0, v.length);
            return p;
        }

        long ints(int[] v) {
            long p = api.malloc(4L * Math.max(1, v.length));
            allocs.add(p);
            api.copyToDevice(p, v, 0, v.length);
            return p;
        }

        long zeros(long bytes) {
            long p = api.malloc(Math.max(4, bytes));
            allocs.add(p);
            api.memset(p, 0, Math.max(4, bytes));
            return p;
        }

        float[] read(long p, int n) {
            float[] v = new float[n];
            api.copyToHost(v, 0, n, p);
            return v;
        }
    }

    private static float[] randn(SplittableRandom r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * scale);
        return v;
    }

    private static void decode(Run r, Mem m, DeviceOps ops, DeviceArena arena, Sizes s) {
        SplittableRandom rnd = new SplittableRandom(1);
        Object[][] formats = {
            {QuantType.NF4, 64, true}, {QuantType.NF4, 64, false}, {QuantType.FP4, 64, true}, {QuantType.INT8, 0, false}
        };
        for (Object[] f : formats) {
            int rows = s.rows() + 3, cols = s.cols() + 5; // odd sizes: blocks and bytes cross rows
            float[] w = randn(rnd, rows * cols, 0.02);
            QuantizedMatrix q = new Quantizer((QuantType) f[0], (int) f[1], (boolean) f[2]).quantize(w, rows, cols);
            DeviceQuantMatrix d = DeviceQuantMatrix.upload(m.api(), arena, q);
            long out = m.zeros(4L * rows * cols), outB = m.zeros(2L * rows * cols);
            ops.dequantTile(d, out, cols, DataType.F32, 0, rows);
            ops.dequantTile(d, outB, cols, DataType.BF16, 0, rows);
            float[] want = q.dequantize();
            String name = "decode " + ((QuantType) f[0]).id() + ((boolean) f[2] ? "+dq" : "") + " " + rows + "x" + cols;
            r.exact(name + " fp32 = QuantizedMatrix.get", want, m.read(out, want.length));
            short[] b = new short[want.length];
            m.api().copyToHost(b, 0, b.length, outB);
            float[] wantB = new float[want.length], gotB = new float[want.length];
            for (int i = 0; i < want.length; i++) {
                wantB[i] = Halfs.bf16ToFloat(Halfs.floatToBf16(want[i]));
                gotB[i] = Halfs.bf16ToFloat(b[i]);
            }
            r.exact(name + " bf16 = rounded get", wantB, gotB);
        }
    }

    private static void gemms(Run r, Mem m, CudaApi api, Sizes s) {
        SplittableRandom rnd = new SplittableRandom(2);
        int M = s.N() + 1, N = s.C() / 2 + 3, K = s.C() + 7;
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                int lda = (ta ? M : K) + 1, ldb = (tb ? K : N) + 3, ldc = N + 2;
                float[] a = randn(rnd, (ta ? K : M) * lda, 1), b = randn(rnd, (tb ? N : K) * ldb, 1);
                float[] c = randn(rnd, M * ldc, 1), want = c.clone();
                new ScalarKernels().sgemm(ta, tb, M, N, K, 0.5f, a, 0, lda, b, 0, ldb, 1f, want, 0, ldc);
                long dc = m.floats(c);
                RowMajorGemm.gemm(
                        api,
                        ta,
                        tb,
                        M,
                        N,
                        K,
                        0.5f,
                        m.floats(a),
                        DataType.F32,
                        lda,
                        m.floats(b),
                        DataType.F32,
                        ldb,
                        1f,
                        dc,
                        ldc,
                        GemmCompute.F32_PEDANTIC);
                r.close("sgemm fp32 transA=" + ta + " transB=" + tb + " (odd ld)", want, m.read(dc, want.length), 1e-5);
            }
        }
    }

    private static void frozen(Run r, Mem m, DeviceOps ops, DeviceArena arena, Sizes s) {
        SplittableRandom rnd = new SplittableRandom(3);
        int out = s.rows(), in = s.cols(), N = s.N();
        QuantizedMatrix q = Quantizer.qlora().quantize(randn(rnd, out * in, 0.02), out, in);
        DeviceQuantMatrix w = DeviceQuantMatrix.upload(m.api(), arena, q);
        float[] x = randn(rnd, N * in, 1), dy = randn(rnd, N * out, 1);
        ScalarKernels ref = new ScalarKernels();
        float[] y = new float[N * out], dx = new float[N * in];
        ref.qgemm(false, true, N, out, in, 1f, x, 0, in, q, 0f, y, 0, out);
        ref.qgemm(false, false, N, in, out, 1f, dy, 0, out, q, 0f, dx, 0, in);
        long px = m.floats(x), pdy = m.floats(dy), py = m.zeros(4L * N * out), pdx = m.zeros(4L * N * in);
        int tileRows = Math.max(1, out / 3);
        long tile = m.zeros(4L * tileRows * in), act = m.zeros(2L * N * Math.max(in, out));
        FrozenGemm f32 = new FrozenGemm(ops, FrozenGemm.Mode.F32, tile, 4L * tileRows * in, act, 0);
        f32.forward(w, px, in, N, 1f, 0f, py, out);
        f32.backwardInput(w, pdy, out, N, 1f, 0f, pdx, in);
        r.close("frozen NF4+dq forward fp32 (" + tileRows + "-row tiles) vs qgemm", y, m.read(py, y.length), 1e-5);
        r.close("frozen NF4+dq input gradient fp32 vs qgemm", dx, m.read(pdx, dx.length), 1e-5);
        // bf16: against the fp32 product of the bf16-rounded operands
        float[] xr = x.clone(), wr = q.dequantize();
        for (int i = 0; i < xr.length; i++) xr[i] = Halfs.bf16ToFloat(Halfs.floatToBf16(xr[i]));
        for (int i = 0; i < wr.length; i++) wr[i] = Halfs.bf16ToFloat(Halfs.floatToBf16(wr[i]));
        float[] yb = new float[N * out];
        ref.sgemm(false, true, N, out, in, 1f, xr, 0, in, wr, 0, in, 0f, yb, 0, out);
        FrozenGemm bf16 =
                new FrozenGemm(ops, FrozenGemm.Mode.BF16, tile, 4L * tileRows * in, act, 2L * N * Math.max(in, out));
        bf16.forward(w, px, in, N, 1f, 0f, py, out);
        r.close("frozen NF4+dq forward bf16 vs rounded operands", yb, m.read(py, yb.length), 1e-4);
    }

    /**
     * A frozen NF4 layer with its LoRA path (dropout {@code p}), forward and backward, against
     * {@link FrozenLinear} + {@link Lora} + {@link Dropout} on {@link ScalarKernels}.
     */
    private static void loraLinear(Run r, Mem m, DeviceOps ops, DeviceArena arena, Sizes s, float p) {
        SplittableRandom rnd = new SplittableRandom(p > 0 ? 7 : 8);
        int out = s.rows(), in = s.cols(), N = s.N(), R = 16;
        float sc = 2f;
        QuantizedMatrix q = Quantizer.qlora().quantize(randn(rnd, out * in, 0.02), out, in);
        int aOff = 3, bOff = aOff + R * in + 5, slab = bOff + out * R + 2;
        float[] params = randn(rnd, slab, 0.05), grads0 = randn(rnd, slab, 0.01);
        float[] x = randn(rnd, N * in, 1), dy = randn(rnd, N * out, 1), dx0 = randn(rnd, N * in, 1);
        long seed = Dropout.streamSeed(11, 2, 4);
        // the CPU engine
        ScalarKernels kern = new ScalarKernels();
        FrozenLinear lin = FrozenLinear.quantized(q, null);
        float[] xd = x;
        if (p > 0) {
            xd = new float[N * in];
            Dropout.forward(xd, x, N * in, p, seed);
        }
        float[] y = new float[N * out], u = new float[N * R];
        lin.forward(kern, y, 0, x, 0, N);
        Lora.forward(kern, y, 0, u, 0, xd, 0, params, aOff, bOff, N, in, out, R, sc);
        float[] grads = grads0.clone(), dx = dx0.clone(), dxd = new float[N * in];
        Lora.backward(
                kern,
                dxd,
                0,
                grads,
                new float[N * R],
                0,
                new float[in * R],
                dy,
                0,
                u,
                0,
                xd,
                0,
                params,
                aOff,
                bOff,
                N,
                in,
                out,
                R,
                sc);
        if (p > 0) {
            Dropout.backward(dx, dxd, N * in, p, seed);
        } else {
            for (int i = 0; i < dx.length; i++) dx[i] += dxd[i];
        }
        lin.backwardInput(kern, dx, 0, dy, 0, N);
        // the device
        DeviceQuantMatrix w = DeviceQuantMatrix.upload(m.api(), arena, q);
        long tile = m.zeros(4L * out * in);
        FrozenGemm frozen = new FrozenGemm(ops, FrozenGemm.Mode.F32, tile, 4L * out * in, 0, 0);
        DeviceLora.Module mod = new DeviceLora.Module(in, out, R, sc, p, seed, aOff, bOff);
        long px = m.floats(x), pp = m.floats(params), pg = m.floats(grads0), py = m.zeros(4L * N * out);
        long pu = m.zeros(4L * N * R), pxd = m.zeros(4L * N * in), pdxd = m.zeros(4L * N * in);
        long pdy = m.floats(dy), pdx = m.floats(dx0), pdu = m.zeros(4L * N * R);
        frozen.forward(w, px, in, N, 1f, 0f, py, out);
        DeviceLora.forward(ops, mod, pp, px, pxd, pu, py, N, GemmCompute.F32_PEDANTIC);
        DeviceLora.backward(ops, mod, pp, pg, pdy, pu, px, pxd, pdu, pdxd, pdx, N, GemmCompute.F32_PEDANTIC);
        frozen.backwardInput(w, pdy, out, N, 1f, 1f, pdx, in);
        String name = "lora linear NF4 " + out + "x" + in + " r=" + R + " dropout " + p + ": ";
        if (p > 0) {
            r.close(name + "y", y, m.read(py, y.length), 1e-5);
            r.close(name + "u", u, m.read(pu, u.length), 1e-5);
            r.close(name + "lora gradients", grads, m.read(pg, slab), 1e-5);
        }
        r.close(name + "dx", dx, m.read(pdx, dx.length), 1e-5);
    }

    private static void rowOps(Run r, Mem m, DeviceOps ops, Sizes s) {
        SplittableRandom rnd = new SplittableRandom(4);
        int N = s.N(), C = s.C();
        float[] x = randn(rnd, N * C, 2), w = randn(rnd, C, 1), dout = randn(rnd, N * C, 1);
        float[] o = new float[N * C], rstd = new float[N], dx = new float[N * C];
        ScalarMathOps.INSTANCE.rmsNormForward(o, 0, rstd, 0, x, 0, w, N, C, 1e-5f);
        ScalarMathOps.INSTANCE.rmsNormBackward(dx, 0, dout, 0, x, 0, w, rstd, 0, N, C);
        long px = m.floats(x), pw = m.floats(w), po = m.zeros(4L * N * C), pr = m.zeros(4L * N);
        long pdx = m.zeros(4L * N * C);
        ops.rmsNormForward(po, pr, px, pw, N, C, 1e-5f);
        ops.rmsNormBackward(pdx, m.floats(dout), px, pw, pr, N, C);
        r.close("rmsnorm forward vs ScalarMathOps", o, m.read(po, o.length), 1e-5);
        r.close("rmsnorm backward vs ScalarMathOps", dx, m.read(pdx, dx.length), 1e-5);

        int n = N * C;
        float[] g = randn(rnd, n, 3), u = randn(rnd, n, 1), dh = randn(rnd, n, 1);
        float[] h = new float[n], dg = new float[n], du = new float[n];
        ScalarMathOps.INSTANCE.swiglu(h, g, u, 0, n);
        ScalarMathOps.INSTANCE.swigluBackward(dg, du, dh, g, u, 0, n);
        long pg = m.floats(g), pu = m.floats(u), ph = m.zeros(4L * n), pdg = m.zeros(4L * n), pdu = m.zeros(4L * n);
        ops.swiglu(ph, pg, pu, n);
        ops.swigluBackward(pdg, pdu, m.floats(dh), pg, pu, n);
        r.close("swiglu forward vs ScalarMathOps", h, m.read(ph, n), 1e-6);
        r.close("swiglu backward dg vs ScalarMathOps", dg, m.read(pdg, n), 1e-6);
        r.close("swiglu backward du vs ScalarMathOps", du, m.read(pdu, n), 1e-6);

        long seed = Dropout.streamSeed(0x5eed, 7, 3);
        float[] xd = new float[n], dxd = randn(rnd, n, 1), dxAcc = randn(rnd, n, 1), dxWant = dxAcc.clone();
        Dropout.forward(xd, g, n, 0.1f, seed);
        Dropout.backward(dxWant, dxd, n, 0.1f, seed);
        long pxd = m.zeros(4L * n), pdxa = m.floats(dxAcc);
        ops.dropoutForward(pxd, pg, n, 0.1f, seed);
        ops.dropoutBackward(pdxa, m.floats(dxd), n, 0.1f, seed);
        r.exact("dropout forward = model.nn.Dropout", xd, m.read(pxd, n));
        r.exact("dropout backward = model.nn.Dropout", dxWant, m.read(pdxa, n));

        // RoPE with Llama 3.1's scaling, head size 128, positions up to 8191
        ModelConfig cfg = ModelConfig.builder(Architecture.LLAMA)
                .vocabSize(s.V())
                .hiddenSize(256)
                .intermediateSize(512)
                .numLayers(1)
                .numHeads(2)
                .numKvHeads(2)
                .headDim(128)
                .ropeTheta(500000)
                .ropeScaling(RopeScaling.llama3(8, 1, 4, 8192))
                .maxPositionEmbeddings(131072)
                .build();
        double[] inv = cfg.ropeInvFreq();
        int half = inv.length, NHx = 2, rows = N, ld = NHx * 2 * half + 5;
        int[] pos = new int[rows];
        for (int i = 0; i < rows; i++) pos[i] = (int) ((i * 1237L) % 8192);
        float[] q = randn(rnd, rows * ld, 1), want = new float[rows * NHx * 2 * half];
        for (int i = 0; i < rows; i++) System.arraycopy(q, i * ld, want, i * NHx * 2 * half, NHx * 2 * half);
        new Rope(inv).forward(want, 0, pos, 0, rows, NHx);
        float[][] tab = RopeTables.of(inv, 8192);
        long pq = m.floats(q);
        ops.rope(pq, ld, m.ints(pos), m.floats(tab[0]), m.floats(tab[1]), rows, NHx, half, false);
        float[] got = m.read(pq, q.length), gotPacked = new float[want.length];
        for (int i = 0; i < rows; i++) System.arraycopy(got, i * ld, gotPacked, i * NHx * 2 * half, NHx * 2 * half);
        r.exact("rope llama3 scaling (strided rows) = model.nn.Rope", want, gotPacked);
    }

    private static void attention(Run r, Mem m, DeviceOps ops, Sizes s) {
        SplittableRandom rnd = new SplittableRandom(5);
        int B = 2, T = s.T(), NH = 4, NKV = 2, HS = 64, QD = NH * HS, KVD = NKV * HS;
        float[] q = randn(rnd, B * T * QD, 1), k = randn(rnd, B * T * KVD, 1), v = randn(rnd, B * T * KVD, 1);
        float[] dout = randn(rnd, B * T * QD, 1);
        int[] lo = new int[B * T], hi = new int[B * T];
        int split = T / 3;
        for (int i = 0; i < T; i++) {
            hi[i] = i;
            lo[T + i] = i < split ? 0 : split; // batch element 1: two documents
            hi[T + i] = i;
        }
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
        DeviceAttention.checkWindows(lo, hi, B, T);
        long pq = m.floats(q), pk = m.floats(k), pv = m.floats(v), po = m.zeros(4L * out.length);
        long pp = m.zeros(4L * probs.length), plo = m.ints(lo), phi = m.ints(hi);
        long pdq = m.zeros(4L * q.length), pdk = m.zeros(4L * k.length), pdv = m.zeros(4L * v.length);
        DeviceAttention.Shape sh = new DeviceAttention.Shape(B, T, NH, NKV, HS);
        DeviceAttention.forward(ops, po, pp, pq, pk, pv, plo, phi, sh, GemmCompute.F32_PEDANTIC);
        DeviceAttention.backward(
                ops,
                pdq,
                pdk,
                pdv,
                m.zeros(4L * probs.length),
                m.floats(dout),
                pp,
                pq,
                pk,
                pv,
                plo,
                phi,
                sh,
                GemmCompute.F32_PEDANTIC);
        String name = "attention GQA 4/2 heads, T=" + T + ", two documents";
        r.close(name + ": probs", probs, m.read(pp, probs.length), 1e-5);
        r.close(name + ": out", out, m.read(po, out.length), 1e-5);
        r.close(name + ": dq", dq, m.read(pdq, dq.length), 1e-5);
        r.close(name + ": dk", dk, m.read(pdk, dk.length), 1e-5);
        r.close(name + ": dv", dv, m.read(pdv, dv.length), 1e-5);
    }

    private static void crossEntropy(Run r, Mem m, DeviceOps ops, CudaApi api, Sizes s) {
        SplittableRandom rnd = new SplittableRandom(6);
        int N = s.N(), C = s.C() / 4, V = s.V();
        float[] x = randn(rnd, N * C, 1), w = randn(rnd, V * C, 0.3);
        int[] targets = new int[N];
        for (int i = 0; i < N; i++) targets[i] = i % 3 == 1 ? -100 : rnd.nextInt(V);
        float gradScale = 1f / N;
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
        long px = m.floats(x), pw = m.floats(w), logits = m.zeros(4L * N * V), pl = m.zeros(8L * N);
        long pdx = m.zeros(4L * N * C);
        RowMajorGemm.gemm(
                api,
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
        ops.crossEntropy(logits, V, m.ints(targets), pl, N, V, gradScale, true);
        RowMajorGemm.gemm(
                api,
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
        api.copyToHost(rows, 0, N, pl);
        double sum = 0;
        for (double v : rows) sum += v;
        double err = Math.abs(sum - loss) / Math.max(Math.abs(loss), 1e-30);
        r.add(new Result("cross-entropy loss (V=" + V + ") vs LmHeadLoss", err <= 1e-5, err, 1e-5));
        r.close("cross-entropy input gradient vs LmHeadLoss", dx, m.read(pdx, dx.length), 1e-5);
    }
}
