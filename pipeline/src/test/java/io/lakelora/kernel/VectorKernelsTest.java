package io.lakelora.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lakelora.quant.QuantType;
import io.lakelora.quant.QuantizedMatrix;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/**
 * {@link VectorKernels} against the spec {@link ScalarKernels}: odd shapes (1, primes, just above/below the block
 * sizes), all transA/transB combinations, alpha/beta (beta = 0 over NaN), offsets and leading dimensions larger than
 * the shape, 1 and 2 threads, the 512-bit and 256-bit micro-kernels, and qgemm on NF4/FP4 (with and without double
 * quantization) and INT8 in both orientations.
 *
 * <p>Tolerance per element: {@code 2e-5 * (|alpha| * sum_p |a_ip||b_pj| + |beta * c_ij|)}; a missing or doubled
 * term (|a_ip b_pj| ~ bound / k) exceeds it for every k used here. Padding around every operand is NaN in A and B
 * (a stray read poisons the result) and a sentinel in C (a stray write is caught).
 */
class VectorKernelsTest {
    private static final int[] DIMS = {1, 2, 3, 5, 7, 13, 31, 33, 64, 65, 127, 200, 257};
    private static final float C_SENTINEL = 12345.5f;
    private static final ScalarKernels SPEC = new ScalarKernels();

    /**
     * The implementations under test: every width (512, 256, 128), 1 and 2 threads (2 threads split even tiny calls), 4-bit decoding
     * with the scalar table and with vector permutes (512-bit).
     */
    private static List<VectorKernels> variants() {
        List<VectorKernels> v = new ArrayList<>();
        if (FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512) {
            v.add(new VectorKernels(1, FloatVector.SPECIES_512, VectorKernels.MIN_FLOPS_PER_THREAD, false));
            v.add(new VectorKernels(2, FloatVector.SPECIES_512, 1, true));
        }
        v.add(new VectorKernels(1, FloatVector.SPECIES_256));
        v.add(new VectorKernels(2, FloatVector.SPECIES_256, 1));
        // ARM NEON's width (and SSE's): the same tests at 128 bits
        v.add(new VectorKernels(1, FloatVector.SPECIES_128));
        v.add(new VectorKernels(2, FloatVector.SPECIES_128, 1));
        return v;
    }

    /** 15 (m, n, k) triples covering every value in DIMS in every position, plus block-boundary shapes. */
    private static List<int[]> shapes() {
        List<int[]> s = new ArrayList<>();
        for (int i = 0; i < DIMS.length; i++) {
            s.add(new int[] {DIMS[i], DIMS[(i * 5 + 3) % DIMS.length], DIMS[(i * 7 + 1) % DIMS.length]});
        }
        s.add(new int[] {1, 1, 1});
        s.add(new int[] {193, 40, 1100}); // m over several MC blocks and a short one, k over two slices (512 + 588)
        s.add(new int[] {30, 70, 1700}); // three slices, the last one deeper than KC (512 + 512 + 676)
        s.add(new int[] {14, 50, 700}); // one slice deeper than KC (up to KC_MAX: no short slice of its own)
        s.add(new int[] {8, 300, 70}); // small-m path (m <= 8), transB and axpy forms
        s.add(new int[] {9, 4099, 5}); // n above 2 * NC
        s.add(new int[] {26, 2080, 1030}); // two column panels x two k slices: op(A) packed once for both panels
        return s;
    }

    private static final float[][] ALPHA_BETA = {{1f, 0f}, {0.5f, -1.5f}, {-2f, 1f}};

    @Test
    void sgemmMatchesScalarOverShapesTransposesAlphaBetaAndLayouts() {
        Random rnd = new Random(11);
        List<VectorKernels> impls = variants();
        int cases = 0;
        for (int[] shape : shapes()) {
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                float[] ab = ALPHA_BETA[(cases++) % ALPHA_BETA.length];
                Problem p = Problem.random(rnd, ta, tb, shape[0], shape[1], shape[2], ab[0], ab[1], true);
                float[] want = p.c.clone();
                SPEC.sgemm(
                        ta, tb, p.m, p.n, p.k, p.alpha, p.a, p.aOff, p.lda, p.b, p.bOff, p.ldb, p.beta, want, p.cOff,
                        p.ldc);
                for (VectorKernels vk : impls) {
                    float[] got = p.c.clone();
                    vk.sgemm(
                            ta, tb, p.m, p.n, p.k, p.alpha, p.a, p.aOff, p.lda, p.b, p.bOff, p.ldb, p.beta, got, p.cOff,
                            p.ldc);
                    p.check(vk, want, got, p.bAt(), "sgemm");
                }
            }
        }
    }

    @Test
    void qgemmMatchesScalarForEveryQuantTypeAndOrientation() {
        Random rnd = new Random(12);
        List<VectorKernels> impls = variants();
        // W shapes [rows, cols]: 172 columns (blocks of 64 cross rows), odd element count, blocks of 32 and 128
        int[][] wShapes = {{40, 172}, {13, 31}, {65, 257}, {3, 5}};
        int[] ms = {1, 7, 37};
        int caseNo = 0;
        for (int[] ws : wShapes) {
            for (String kind : new String[] {"nf4", "nf4-dq", "fp4", "fp4-dq", "int8"}) {
                int blocksize = new int[] {64, 32, 128}[caseNo % 3];
                QuantizedMatrix w = switch (kind) {
                    case "int8" -> RandomWeights.int8(rnd, ws[0], ws[1]);
                    default ->
                        RandomWeights.fourBit(
                                rnd,
                                kind.startsWith("nf4") ? QuantType.NF4 : QuantType.FP4,
                                ws[0],
                                ws[1],
                                blocksize,
                                kind.endsWith("-dq"));
                };
                for (int t = 0; t < 4; t++) {
                    boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                    int m = ms[caseNo % ms.length];
                    float[] ab = ALPHA_BETA[caseNo % ALPHA_BETA.length];
                    caseNo++;
                    int n = tb ? w.rows() : w.cols(), k = tb ? w.cols() : w.rows();
                    Problem p = Problem.random(rnd, ta, tb, m, n, k, ab[0], ab[1], false);
                    float[] want = p.c.clone();
                    SPEC.qgemm(ta, tb, m, n, k, p.alpha, p.a, p.aOff, p.lda, w, p.beta, want, p.cOff, p.ldc);
                    float[] wDeq = w.dequantize();
                    for (VectorKernels vk : impls) {
                        float[] got = p.c.clone();
                        vk.qgemm(ta, tb, m, n, k, p.alpha, p.a, p.aOff, p.lda, w, p.beta, got, p.cOff, p.ldc);
                        p.check(
                                vk,
                                want,
                                got,
                                (pp, j) -> tb ? wDeq[j * w.cols() + pp] : wDeq[pp * w.cols() + j],
                                "qgemm " + kind + " bs=" + w.blocksize() + " W=" + w.rows() + "x" + w.cols());
                    }
                }
            }
        }
    }

    @Test
    void largerQgemmCrossesKcAndMcBlocks() {
        Random rnd = new Random(13);
        // forward: k = W.cols = 1088 spans two k slices; input gradient: k = W.rows = 1030 too; m = 200 crosses MC
        QuantizedMatrix wf = RandomWeights.fourBit(rnd, QuantType.NF4, 70, 1088, 64, true);
        QuantizedMatrix wb = RandomWeights.fourBit(rnd, QuantType.FP4, 1030, 40, 64, false);
        for (boolean tb : new boolean[] {true, false}) {
            QuantizedMatrix w = tb ? wf : wb;
            int m = 200, n = tb ? w.rows() : w.cols(), k = tb ? w.cols() : w.rows(), cols = w.cols();
            assertTrue(k > VectorKernels.KC_MAX && m > VectorKernels.MC);
            Problem p = Problem.random(rnd, false, tb, m, n, k, 1f, 0f, false);
            float[] want = p.c.clone();
            SPEC.qgemm(false, tb, m, n, k, 1f, p.a, p.aOff, p.lda, w, 0f, want, p.cOff, p.ldc);
            float[] wDeq = w.dequantize();
            for (VectorKernels vk : variants()) {
                float[] got = p.c.clone();
                vk.qgemm(false, tb, m, n, k, 1f, p.a, p.aOff, p.lda, w, 0f, got, p.cOff, p.ldc);
                p.check(vk, want, got, (pp, j) -> tb ? wDeq[j * cols + pp] : wDeq[pp * cols + j], "qgemm large");
            }
        }
    }

    @Test
    void twoThreadsGiveBitIdenticalResultsAndUseThePool() {
        Random rnd = new Random(14);
        int m = 50, n = 333, k = 270;
        float[] a = RandomWeights.floats(rnd, m * k);
        float[] b = RandomWeights.floats(rnd, k * n);
        for (var species : new jdk.incubator.vector.VectorSpecies<?>[] {
            FloatVector.SPECIES_128, FloatVector.SPECIES_256, FloatVector.SPECIES_PREFERRED
        }) {
            @SuppressWarnings("unchecked")
            var sp = (jdk.incubator.vector.VectorSpecies<Float>) species;
            float[] c1 = new float[m * n], c2 = new float[m * n];
            new VectorKernels(1, sp).sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c1, 0, n);
            new VectorKernels(2, sp, 1).sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c2, 0, n);
            // column split on whole micro-tiles: every element is summed in the same order
            assertArrayEquals(c1, c2);
        }
        boolean poolThread = Thread.getAllStackTraces().keySet().stream()
                .anyMatch(th -> th.getName().startsWith("lakelora-kernels-"));
        assertTrue(poolThread, "a 2-thread call should have started a lakelora-kernels helper thread");
    }

    @Test
    void concurrentCallersOnOneInstanceGetTheSingleThreadedBits() throws Exception {
        // callers share one 2-thread instance (Spark tasks in one executor): every result must equal the 1-thread
        // product bit for bit
        Random rnd = new Random(21);
        int m = 120, n = 200, k = 300;
        float[] a = RandomWeights.floats(rnd, m * k);
        float[] b = RandomWeights.floats(rnd, k * n);
        float[] want = new float[m * n];
        new VectorKernels(1).sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, want, 0, n);
        VectorKernels shared = new VectorKernels(2, FloatVector.SPECIES_PREFERRED, 1);
        java.util.concurrent.ExecutorService callers = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            List<java.util.concurrent.Future<float[]>> results = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                results.add(callers.submit(() -> {
                    float[] c = new float[m * n];
                    for (int rep = 0; rep < 20; rep++) {
                        shared.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
                    }
                    return c;
                }));
            }
            for (var f : results) assertArrayEquals(want, f.get());
        } finally {
            callers.shutdownNow();
        }
    }

    @Test
    void parallelForRunsEveryTaskOnceOnBothThreadsAndNestedCallsStayOnTheTaskThread() throws Exception {
        VectorKernels vk = new VectorKernels(2);
        int tasks = 64;
        int[] runs = new int[tasks];
        int[] workerOf = new int[tasks];
        String[] threadOf = new String[tasks];
        java.util.concurrent.CountDownLatch both = new java.util.concurrent.CountDownLatch(2);
        vk.parallelFor(tasks, (t, w) -> {
            if (t < 2) {
                // the first two tasks wait for each other: passes only if two threads run tasks at once
                both.countDown();
                try {
                    assertTrue(both.await(10, java.util.concurrent.TimeUnit.SECONDS), "second thread never came");
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
            synchronized (runs) {
                runs[t]++;
                workerOf[t] = w;
                threadOf[t] = Thread.currentThread().getName();
            }
            // a nested parallelFor runs inline with the same worker index
            int[] inner = new int[3];
            vk.parallelFor(3, (i, w2) -> {
                assertEquals(w, w2);
                inner[i] = Thread.currentThread().getName().equals(threadOf[t]) ? 1 : -1;
            });
            assertArrayEquals(new int[] {1, 1, 1}, inner);
        });
        for (int t = 0; t < tasks; t++) {
            assertEquals(1, runs[t], "task " + t);
            assertTrue(workerOf[t] == 0 || workerOf[t] == 1, "worker " + workerOf[t]);
        }
        assertTrue(java.util.Arrays.stream(workerOf).distinct().count() == 2, "both workers used");

        // a failing task is rethrown after every other task finished
        IllegalStateException e = assertThrows(
                IllegalStateException.class,
                () -> vk.parallelFor(8, (t, w) -> {
                    if (t == 5) throw new IllegalStateException("task 5 failed");
                }));
        assertEquals("task 5 failed", e.getMessage());
        // the scalar spec runs the tasks in order on the caller as worker 0
        List<Integer> order = new ArrayList<>();
        new ScalarKernels().parallelFor(4, (t, w) -> order.add(t * 10 + w));
        assertEquals(List.of(0, 10, 20, 30), order);
    }

    @Test
    void packedBProductsOverSubRangesMatchTheScalarSpec() {
        Random rnd = new Random(77);
        List<Kernels> impls = new ArrayList<>(variants());
        impls.add(SPEC); // the interface defaults (row-major packing)
        int[][] cases = { // k, n, k0, k1, n0 (in align units), n1, m
            {64, 300, 0, 64, 0, 300, 48}, {64, 300, 0, 64, 2, 257, 13}, {300, 64, 37, 251, 0, 64, 25},
            {300, 64, 0, 300, 0, 40, 1}, {7, 33, 2, 7, 1, 33, 12}, {129, 70, 128, 129, 0, 70, 36}
        };
        for (Kernels kern : impls) {
            int align = kern.packedBColumnAlign();
            for (int[] cs : cases) {
                int k = cs[0], n = cs[1], k0 = cs[2], k1 = cs[3], n0 = Math.min(cs[4] * align, n), n1 = cs[5];
                int m = cs[6];
                if (n0 > n1) n0 = 0;
                for (boolean transB : new boolean[] {false, true}) {
                    for (boolean transA : new boolean[] {false, true}) {
                        for (float[] ab : ALPHA_BETA) {
                            int kc = k1 - k0;
                            int ldb = (transB ? k : n) + 3;
                            float[] b = randomArray(rnd, (transB ? n : k) * ldb + 5);
                            int lda = (transA ? m : kc) + 2;
                            float[] a = randomArray(rnd, (transA ? kc : m) * lda + 4);
                            int ldc = (n1 - n0) + 4;
                            float[] c = randomArray(rnd, m * ldc + 3);
                            float[] want = c.clone();
                            // the spec: op(B)[k0:k1, n0:n1] through plain sgemm
                            SPEC.sgemm(
                                    transA,
                                    transB,
                                    m,
                                    n1 - n0,
                                    kc,
                                    ab[0],
                                    a,
                                    1,
                                    lda,
                                    b,
                                    2 + (transB ? n0 * ldb + k0 : k0 * ldb + n0),
                                    ldb,
                                    ab[1],
                                    want,
                                    2,
                                    ldc);
                            float[] packed = new float[kern.packedBSize(k, n)];
                            kern.packB(transB, k, n, b, 2, ldb, packed);
                            kern.sgemmPackedB(
                                    transA, m, n0, n1, k0, k1, ab[0], a, 1, lda, packed, k, n, ab[1], c, 2, ldc);
                            for (int i = 0; i < c.length; i++) {
                                float tol = 2e-5f * (Math.abs(want[i]) + kc);
                                assertEquals(
                                        want[i],
                                        c[i],
                                        tol,
                                        kern.name() + " case k=" + k + " n=" + n + " [" + k0
                                                + "," + k1 + ")x[" + n0 + "," + n1 + ") m=" + m + " tA=" + transA
                                                + " tB="
                                                + transB + " at " + i);
                            }
                        }
                    }
                }
            }
            if (align > 1) {
                assertThrows(
                        IllegalArgumentException.class,
                        () -> kern.sgemmPackedB(
                                false,
                                1,
                                1,
                                2,
                                0,
                                1,
                                1f,
                                new float[4],
                                0,
                                1,
                                new float[kern.packedBSize(1, 4)],
                                1,
                                4,
                                0f,
                                new float[4],
                                0,
                                1));
            }
        }
    }

    private static float[] randomArray(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = rnd.nextFloat() * 2 - 1;
        return x;
    }

    @Test
    void kZeroScalesCAndEmptyShapesDoNothing() {
        VectorKernels vk = new VectorKernels(1, FloatVector.SPECIES_256);
        float[] c = {1f, 2f, Float.NaN, 4f};
        vk.sgemm(false, false, 2, 2, 0, 1f, new float[0], 0, 1, new float[0], 0, 2, 0.5f, c, 0, 2);
        assertTrue(Float.isNaN(c[2]), "beta != 0 keeps NaN: 0.5 * NaN");
        assertEquals(0.5f, c[0]);
        assertEquals(2f, c[3]);
        vk.sgemm(false, false, 2, 2, 0, 1f, new float[0], 0, 1, new float[0], 0, 2, 0f, c, 0, 2);
        assertArrayEquals(new float[] {0f, 0f, 0f, 0f}, c, "beta == 0 overwrites, NaN included");
        float[] untouched = {7f};
        vk.sgemm(false, false, 0, 1, 3, 1f, new float[0], 0, 3, new float[3], 0, 1, 0f, untouched, 0, 1);
        assertEquals(7f, untouched[0]);
    }

    @Test
    void badArgumentsAreNamed() {
        VectorKernels vk = new VectorKernels(1, FloatVector.SPECIES_256);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> vk.sgemm(
                        false, false, 4, 4, 4, 1f, new float[16], 0, 3, new float[16], 0, 4, 0f, new float[16], 0, 4));
        assertTrue(e.getMessage().contains("A is stored as 4 rows x 4 columns"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> vk.sgemm(
                        false, true, 4, 4, 4, 1f, new float[16], 0, 4, new float[15], 0, 4, 0f, new float[16], 0, 4));
        assertTrue(
                e.getMessage().contains("B (4 x 4, ld=4, offset=0) needs 16 floats, the array has 15"), e.getMessage());
        QuantizedMatrix w = RandomWeights.int8(new Random(1), 3, 5);
        e = assertThrows(
                IllegalArgumentException.class,
                () -> vk.qgemm(false, true, 2, 5, 3, 1f, new float[6], 0, 3, w, 0f, new float[10], 0, 5));
        assertTrue(e.getMessage().contains("expected k=5 n=3"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new VectorKernels(0, FloatVector.SPECIES_256));
    }

    @Test
    void namesAndWidths() {
        VectorKernels v256 = new VectorKernels(3, FloatVector.SPECIES_256);
        assertEquals("vector-avx2", v256.name());
        assertEquals(256, v256.vectorBits());
        assertEquals(3, v256.threads());
        if (FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512) {
            assertEquals("vector-avx512", new VectorKernels(1, FloatVector.SPECIES_512).name());
        }
        VectorKernels v128 = new VectorKernels(1, FloatVector.SPECIES_128);
        assertEquals("vector-128", v128.name());
        assertEquals(128, v128.vectorBits());
    }

    @Test
    void theDefaultWidthIsTheProcessOne() {
        // one width per process (KernelChoiceTest checks the measured choice and the property in child JVMs)
        assertEquals(VectorKernels.configuredSpecies().vectorBitSize(), new VectorKernels(1).vectorBits());
    }

    /** op(B)(p, j) as fp32, for the error bound. */
    interface BAt {
        float at(int p, int j);
    }

    /** One random gemm problem with padded layouts: offsets > 0 and leading dimensions wider than the shape. */
    static final class Problem {
        boolean ta, tb;
        int m, n, k, aOff, lda, bOff, ldb, cOff, ldc;
        float alpha, beta;
        float[] a, b, c;

        static Problem random(
                Random rnd, boolean ta, boolean tb, int m, int n, int k, float alpha, float beta, boolean withB) {
            Problem p = new Problem();
            p.ta = ta;
            p.tb = tb;
            p.m = m;
            p.n = n;
            p.k = k;
            p.alpha = alpha;
            p.beta = beta;
            int aRows = ta ? k : m, aCols = ta ? m : k;
            p.aOff = 3;
            p.lda = aCols + 5;
            p.a = padded(rnd, p.aOff, aRows, aCols, p.lda, Float.NaN);
            if (withB) {
                int bRows = tb ? n : k, bCols = tb ? k : n;
                p.bOff = 7;
                p.ldb = bCols + 2;
                p.b = padded(rnd, p.bOff, bRows, bCols, p.ldb, Float.NaN);
            }
            p.cOff = 2;
            p.ldc = n + 3;
            p.c = padded(rnd, p.cOff, m, n, p.ldc, C_SENTINEL);
            if (beta == 0f) {
                // beta == 0 must ignore C's old contents, NaN included
                for (int i = 0; i < m; i++) p.c[p.cOff + i * p.ldc + (i % n)] = Float.NaN;
            }
            return p;
        }

        private static float[] padded(Random rnd, int off, int rows, int cols, int ld, float pad) {
            float[] x = new float[off + rows * ld + 4];
            java.util.Arrays.fill(x, pad);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) x[off + r * ld + c] = rnd.nextFloat() * 2f - 1f;
            }
            return x;
        }

        BAt bAt() {
            return (p, j) -> tb ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
        }

        float aAt(int i, int p) {
            return ta ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
        }

        void check(VectorKernels vk, float[] want, float[] got, BAt bAt, String what) {
            for (int idx = 0; idx < got.length; idx++) {
                int rel = idx - cOff;
                boolean inside = rel >= 0 && rel / ldc < m && rel % ldc < n;
                if (!inside) {
                    if (Float.floatToIntBits(got[idx]) != Float.floatToIntBits(c[idx])) {
                        fail(desc(vk, what) + ": wrote outside C at array index " + idx);
                    }
                    continue;
                }
                int i = rel / ldc, j = rel % ldc;
                double bound = 0;
                for (int pp = 0; pp < k; pp++) bound += Math.abs((double) aAt(i, pp) * bAt.at(pp, j));
                double old = beta == 0f ? 0 : Math.abs((double) beta * c[idx]);
                double tol = 2e-5 * (Math.abs(alpha) * bound + old) + 1e-30;
                double err = Math.abs((double) got[idx] - want[idx]);
                if (!(err <= tol)) {
                    fail(desc(vk, what) + ": C[" + i + "," + j + "] = " + got[idx] + ", scalar spec " + want[idx]
                            + " (|diff| " + err + " > tol " + tol + ")");
                }
            }
        }

        private String desc(VectorKernels vk, String what) {
            return what + " on " + vk.name() + "/" + vk.threads() + "t" + (vk.vectorDecode() ? "/vector-decode" : "")
                    + " m=" + m + " n=" + n + " k=" + k
                    + " transA=" + ta + " transB=" + tb + " alpha=" + alpha + " beta=" + beta;
        }
    }

    /**
     * A low-rank term fused into the tile loop gives the bits of the two-call default (the low-rank product with beta,
     * then the main product accumulating), for dense and quantized B, every vector width and thread count, and the
     * paths that do not fuse (small m, narrow n, a narrow last column panel).
     */
    @Test
    void lowRankTermFusedGivesTheBitsOfTheTwoCallDefault() {
        Random rnd = new Random(31);
        // m, n, k, r: blocked; narrow n (direct path); small m; n past one NC panel by a narrow panel; r = 48 stacked
        int[][] cases = {
            {100, 200, 96, 16},
            {60, 40, 128, 16},
            {5, 300, 64, 8},
            {30, VectorKernels.NC + 40, 64, 4},
            {70, 130, 1088, 48},
            {13, 97, 64, 1}
        };
        Kernels defaults = new ScalarKernels() {
            @Override
            public void sgemm(
                    boolean transA,
                    boolean transB,
                    int m,
                    int n,
                    int k,
                    float alpha,
                    float[] a,
                    int aOff,
                    int lda,
                    float[] b,
                    int bOff,
                    int ldb,
                    float beta,
                    float[] c,
                    int cOff,
                    int ldc) {
                current.sgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            }

            @Override
            public void qgemm(
                    boolean transA,
                    boolean transB,
                    int m,
                    int n,
                    int k,
                    float alpha,
                    float[] a,
                    int aOff,
                    int lda,
                    QuantizedMatrix b,
                    float beta,
                    float[] c,
                    int cOff,
                    int ldc) {
                current.qgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, beta, c, cOff, ldc);
            }
        };
        int caseNo = 0;
        for (int[] cs : cases) {
            int m = cs[0], n = cs[1], k = cs[2], r = cs[3];
            for (boolean quant : new boolean[] {false, true}) {
                for (boolean tb2 : new boolean[] {true, false}) {
                    float beta = new float[] {0f, 1f, 0.5f}[caseNo++ % 3];
                    float[] a = RandomWeights.floats(rnd, m * k);
                    float[] b = RandomWeights.floats(rnd, k * n);
                    QuantizedMatrix w = RandomWeights.fourBit(rnd, QuantType.NF4, n, k, 64, true);
                    float[] a2 = RandomWeights.floats(rnd, m * (r + 3));
                    float[] b2 = RandomWeights.floats(rnd, n * r);
                    float[] c0 = RandomWeights.floats(rnd, m * n);
                    // A2 with a wider leading dimension and an offset, as the stacked u of a projection group
                    Kernels.LowRank ext = new Kernels.LowRank(r, 0.75f, a2, 2, r + 3, tb2, b2, 0, tb2 ? r : n);
                    for (VectorKernels vk : variants()) {
                        current = vk;
                        float[] want = c0.clone();
                        float[] got = c0.clone();
                        if (quant) {
                            // forward orientation: op(W) = W^T (n x k)
                            defaults.qgemm(false, true, m, n, k, 1f, a, 0, k, w, ext, beta, want, 0, n);
                            vk.qgemm(false, true, m, n, k, 1f, a, 0, k, w, ext, beta, got, 0, n);
                        } else {
                            defaults.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, ext, beta, want, 0, n);
                            vk.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, ext, beta, got, 0, n);
                        }
                        for (int i = 0; i < want.length; i++) {
                            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                                fail(vk.name() + "/" + vk.threads() + "t " + (quant ? "qgemm" : "sgemm") + " m=" + m
                                        + " n=" + n + " k=" + k + " r=" + r + " transB2=" + tb2 + " beta=" + beta
                                        + ": element " + i + " is " + got[i] + ", the two-call default gives "
                                        + want[i]);
                            }
                        }
                    }
                }
            }
        }
    }

    /** The kernels the two-call default delegates to in {@link #lowRankTermFusedGivesTheBitsOfTheTwoCallDefault}. */
    private static VectorKernels current;
}
