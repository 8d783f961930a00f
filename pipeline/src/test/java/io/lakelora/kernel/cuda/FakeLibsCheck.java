package io.lakelora.kernel.cuda;

import io.lakelora.kernel.ScalarKernels;
import io.lakelora.model.nn.Dropout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Runs {@link BytedecoCudaApi}, the real bindings, against whatever CUDA libraries the JVM loads: in CI the fake ones
 * of {@code src/test/c/fakecuda} ({@link BytedecoCudaApiTest} starts this in a child JVM with JavaCPP's preload path on
 * them). Prints one line per check and "fake-cuda check: OK" at the end; exits 1 on the first failure.
 *
 * <p>Usage: {@code FakeLibsCheck CUBIN_CACHE_DIR}
 */
public final class FakeLibsCheck {
    private static int checks;

    public static void main(String[] args) {
        try {
            run(Path.of(args[0]));
            System.out.println("fake-cuda check: OK (" + checks + " checks)");
        } catch (Throwable t) {
            t.printStackTrace(System.out);
            System.exit(1);
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
        checks++;
        System.out.println("ok " + what);
    }

    private static void run(Path cache) {
        try (BytedecoCudaApi api = BytedecoCudaApi.open(0)) {
            DeviceInfo d = api.device();
            check(d.name().equals("Fake CUDA device") && d.major() == 9 && d.minor() == 0, "device " + d);
            check(d.multiprocessors() == 4 && d.totalBytes() == 4L << 30, "attributes and memory " + d);
            check(Arrays.equals(api.memoryInfo(), new long[] {3L << 30, 4L << 30}), "cudaMemGetInfo");

            // copies of every element type, through the staging buffers
            long p = api.malloc(64);
            float[] f = {1.5f, -2f, Float.NaN, 3e-39f};
            api.copyToDevice(p, f, 0, 4);
            float[] fb = new float[4];
            api.copyToHost(fb, 0, 4, p);
            check(Arrays.equals(f, fb), "float round trip");
            int[] i = {7, -1, Integer.MIN_VALUE};
            api.copyToDevice(p + 4, i, 0, 3);
            int[] ib = new int[3];
            api.copyToHost(ib, 0, 3, p + 4);
            check(Arrays.equals(i, ib), "int round trip at an offset");
            short[] s = {1, -2, 0x7fff};
            api.copyToDevice(p, s, 0, 3);
            short[] sb = new short[3];
            api.copyToHost(sb, 0, 3, p);
            check(Arrays.equals(s, sb), "short round trip");
            api.memset(p, 0, 64);
            double[] db = new double[8];
            api.copyToHost(db, 0, 8, p);
            check(Arrays.equals(db, new double[8]), "memset and double copy");
            byte[] b = {1, 2, 3, 4, 5};
            long q = api.malloc(8);
            api.copyToDevice(q, b, 1, 3);
            api.copyDeviceToDevice(p, q, 3);
            byte[] bb = new byte[3];
            api.copyToHost(bb, 0, 3, p);
            check(Arrays.equals(bb, new byte[] {2, 3, 4}), "byte copy with an offset, device to device");
            api.free(q);
            api.free(p);

            gemms(api);
            kernels(api, cache);

            try {
                BytedecoCudaApi.open(1);
                check(false, "open(1) should fail");
            } catch (CudaUnavailableException e) {
                check(e.getMessage().contains("GPU 1 does not exist: the driver sees 1 device(s)"), e.getMessage());
            }
        }
    }

    private static void gemms(CudaApi api) {
        SplittableRandom r = new SplittableRandom(7);
        int m = 5, n = 3, k = 6;
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                int lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2, ldc = n + 1;
                float[] a = rand(r, (ta ? k : m) * lda), bm = rand(r, (tb ? n : k) * ldb), c = rand(r, m * ldc);
                float[] want = c.clone();
                new ScalarKernels().sgemm(ta, tb, m, n, k, 0.5f, a, 0, lda, bm, 0, ldb, 2f, want, 0, ldc);
                long da = up(api, a), db = up(api, bm), dc = up(api, c);
                RowMajorGemm.gemm(
                        api,
                        ta,
                        tb,
                        m,
                        n,
                        k,
                        0.5f,
                        da,
                        DataType.F32,
                        lda,
                        db,
                        DataType.F32,
                        ldb,
                        2f,
                        dc,
                        ldc,
                        GemmCompute.F32_PEDANTIC);
                float[] got = new float[c.length];
                api.copyToHost(got, 0, got.length, dc);
                check(Arrays.equals(want, got), "cublasGemmEx transA=" + ta + " transB=" + tb);
                api.free(da);
                api.free(db);
                api.free(dc);
            }
        }
        float[] a = rand(r, 2 * 4 * 3), bm = rand(r, 2 * 3 * 5);
        long da = up(api, a), db = up(api, bm), dc = api.malloc(4L * 2 * 4 * 5);
        RowMajorGemm.gemmBatched(
                api,
                false,
                false,
                4,
                5,
                3,
                1f,
                da,
                DataType.F32,
                3,
                12,
                db,
                DataType.F32,
                5,
                15,
                0f,
                dc,
                5,
                20,
                2,
                GemmCompute.F32);
        float[] got = new float[40];
        api.copyToHost(got, 0, 40, dc);
        boolean same = true;
        for (int q = 0; q < 2; q++) {
            float[] want = new float[20];
            new ScalarKernels().sgemm(false, false, 4, 5, 3, 1f, a, 12 * q, 3, bm, 15 * q, 5, 0f, want, 0, 5);
            same &= Arrays.equals(want, Arrays.copyOfRange(got, 20 * q, 20 * q + 20));
        }
        check(same, "cublasGemmStridedBatchedEx");
        try {
            api.gemmEx(
                    false,
                    false,
                    4,
                    4,
                    4,
                    1f,
                    da,
                    DataType.F32,
                    2,
                    db,
                    DataType.F32,
                    4,
                    0f,
                    dc,
                    DataType.F32,
                    4,
                    GemmCompute.F32);
            check(false, "lda 2 < 4 should fail");
        } catch (CudaException e) {
            check(e.getMessage().contains("CUBLAS_STATUS_INVALID_VALUE (7)"), e.getMessage());
        }
        api.free(da);
        api.free(db);
        api.free(dc);
    }

    private static void kernels(CudaApi api, Path cache) {
        try {
            api.compile("#error no\nextern \"C\" __global__ void k() {}", "bad.cu", CudaSources.nvrtcOptions(9, 0));
            check(false, "#error should not compile");
        } catch (CudaException e) {
            check(
                    e.getMessage().contains("NVRTC_ERROR_COMPILATION")
                            && e.getMessage().contains("#error directive"),
                    e.getMessage());
        }
        CudaModules modules = CudaModules.load(api, new CubinCache(cache));
        DeviceOps ops = new DeviceOps(api, modules);
        long y = up(api, new float[] {1, 2, 3, 4, 5, 6}), x = up(api, new float[] {10, 20, 30, 40, 50, 60});
        ops.add(y, x, 6);
        check(Arrays.equals(down(api, y, 6), new float[] {11, 22, 33, 44, 55, 66}), "launch lakelora_add");
        ops.addBiasRows(y, 3, up(api, new float[] {100, 200}), 2, 2);
        check(Arrays.equals(down(api, y, 6), new float[] {111, 222, 33, 144, 255, 66}), "launch (ptr, int) args");
        int n = 1000;
        float[] v = rand(new SplittableRandom(8), n), want = new float[n];
        long seed = Dropout.streamSeed(99, 1, 2);
        Dropout.forward(want, v, n, 0.25f, seed);
        long dv = up(api, v), dxd = api.malloc(4L * n);
        ops.dropoutForward(dxd, dv, n, 0.25f, seed);
        check(Arrays.equals(want, down(api, dxd, n)), "launch (long long, float) args: the Java dropout mask");
        try {
            ops.swiglu(y, y, y, 6); // the fake driver implements three kernels only
            check(false, "swiglu should be unsupported by the fake driver");
        } catch (CudaException e) {
            check(e.getMessage().contains("cuLaunchKernel failed: CUDA_ERROR_NOT_SUPPORTED (801)"), e.getMessage());
        }
        api.synchronize();
        check(List.of(CudaKernel.values()).stream().allMatch(k -> modules.function(k) != 0), "every function found");
    }

    private static float[] rand(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    private static long up(CudaApi api, float[] v) {
        long p = api.malloc(4L * v.length);
        api.copyToDevice(p, v, 0, v.length);
        return p;
    }

    private static float[] down(CudaApi api, long p, int n) {
        float[] v = new float[n];
        api.copyToHost(v, 0, n, p);
        return v;
    }
}
