package io.lakelora.kernel;

import io.lakelora.quant.QuantizedMatrix;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fast CPU kernels on the Java Vector API: GotoBLAS-style {@code sgemm} and {@code qgemm} (NF4/FP4/INT8 weights
 * de-quantized into the packed B panel, never into an fp32 matrix). Operations without a fast path are inherited
 * from {@link ScalarKernels}, which is the spec every override is tested against.
 *
 * <p>Blocking: for each {@code NC}-wide column panel and {@code KC}-deep k slice, op(B) is packed once; for each
 * {@code MC}-row block op(A) is packed; a register-blocked micro-kernel ({@link MicroKernel512} 12x32 for 512-bit
 * vectors, {@link MicroKernel256} 6x16 for 256-bit) computes each tile, and edge tiles go through a scratch tile.
 * With at most {@value #SMALL_M} rows of op(A) (token-by-token generation) a packing-free dot/axpy path is used.
 *
 * <p>Threads: a call with enough work is split into contiguous column ranges of C (each thread packs, and for
 * qgemm de-quantizes, only its own part of W), or row ranges when C has too few columns. One part runs on the
 * calling thread, the others on this instance's {@link WorkerTeam} (helpers that spin briefly between parallel
 * sections instead of parking at once); {@code threads == 1} never leaves the caller. Calls from several threads at
 * once are safe (scratch is per thread; a caller that finds the team busy runs its parts itself). Nested calls from
 * a helper run single-threaded.
 *
 * <p>Measured alternatives (the blocking and threading constants below): docs/kernels.md.
 */
public class VectorKernels extends ScalarKernels {
    /**
     * k depth of a packed slice. 512 rather than GotoBLAS's usual 256: C is read and written once per slice, and 512
     * halves those passes; the 64 KB B micro-panel then streams from L2, which the 12-row kernel's 12 cycles per k
     * step easily cover.
     */
    static final int KC = 512;
    /**
     * Deepest k slice: a remainder of up to KC / 2 joins the slice before it rather than making a short one of its own
     * (a short slice pays the same C pass and packing overheads for half the arithmetic).
     */
    static final int KC_MAX = KC + KC / 2;

    /** Depth of the k slice starting at {@code pc} of {@code k}: KC, or the whole rest when that is at most KC_MAX. */
    static int sliceDepth(int k, int pc) {
        return k - pc <= KC_MAX ? k - pc : KC;
    }
    /**
     * Rows of a packed A block (a multiple of both micro-kernels' MR) with two or more threads per call. 48 rather
     * than 192: the block and a B micro-panel stay in L1/L2 while the B panel streams from L3 once more per block.
     */
    static final int MC = 48;
    /**
     * Rows of a packed A block on one thread: a single 12-row strip (24 KB at KC = 512) that stays in L1 while every
     * B micro-panel of the column panel streams past it from L3. Two threads, whose panels share the L3, keep
     * {@link #MC}. The default; {@link KernelChoice} measures 12 and 48 per machine and width.
     */
    static final int MC_ONE_THREAD = 12;
    /** Columns of a packed B panel (a multiple of both micro-kernels' NR). */
    static final int NC = 2048;
    /** Largest op(A), in floats, packed whole to be reused across column panels (64 MB). */
    static final long MAX_PACKED_A = 16L << 20;
    /** Up to this many rows of op(A), the small-m path (no packing) is used. */
    static final int SMALL_M = 8;
    /**
     * Below about this much work per extra thread (~10 us), a call stays on fewer threads. Low enough that, with the
     * spinning helpers ({@link WorkerTeam}), the 12-MFLOP LoRA products of a 100M model split over two threads.
     */
    static final long MIN_FLOPS_PER_THREAD = 1L << 21;
    /**
     * Up to this many columns of C (a LoRA factor, or a few of them stacked, such as q/k/v's rank-16 factors), op(A)
     * is read in place once per column strip instead of packed: packing costs more than it saves at these widths.
     */
    static final int DIRECT_MAX_N = 64;
    /**
     * How long an idle helper thread spins for the next parallel section before it parks ({@link WorkerTeam}):
     * system property {@code lakelora.kernels.spin.us}, default 2000 us.
     */
    static final long SPIN_NANOS = 1000L * Long.getLong("lakelora.kernels.spin.us", 2000L);

    private final MicroKernel mk;
    private final int threads;
    /** Rows of a packed A block: {@link #MC_ONE_THREAD} or {@link #MC}. */
    private final int mcRows;

    private final long minFlopsPerThread;
    /** 4-bit runs along W's rows decoded with {@link VectorDecode512} (512-bit only). */
    private final boolean vectorDecode;

    private volatile WorkerTeam team;

    /**
     * Kernels with the vector width chosen by system property {@code lakelora.vector.bits} (128, 256 or 512), else the
     * CPU's preferred width.
     *
     * @param threads threads per call, at least 1
     */
    public VectorKernels(int threads) {
        this(threads, configuredSpecies());
    }

    /**
     * Kernels for an explicit vector species (tests use {@code FloatVector.SPECIES_256} to run the AVX2 path on an
     * AVX-512 machine).
     *
     * @param threads threads per call, at least 1
     * @param species {@code FloatVector.SPECIES_256} or {@code FloatVector.SPECIES_512}
     */
    public VectorKernels(int threads, VectorSpecies<Float> species) {
        this(threads, species, MIN_FLOPS_PER_THREAD);
    }

    /** As {@link #VectorKernels(int, VectorSpecies)}; tests pass a tiny {@code minFlopsPerThread} to split small calls. */
    VectorKernels(int threads, VectorSpecies<Float> species, long minFlopsPerThread) {
        this(threads, species, minFlopsPerThread, species.vectorBitSize() == 512 && VectorDecode512.worthIt());
    }

    /** Tests force {@code vectorDecode} on to check the vector decoder on any JVM. */
    VectorKernels(int threads, VectorSpecies<Float> species, long minFlopsPerThread, boolean vectorDecode) {
        this(
                threads,
                species,
                minFlopsPerThread,
                vectorDecode,
                KernelChoice.get().mcOneThread());
    }

    /** {@link KernelChoice}'s probe: an explicit one-thread row block. */
    VectorKernels(int threads, VectorSpecies<Float> species, long minFlopsPerThread, int mcOneThread) {
        this(
                threads,
                species,
                minFlopsPerThread,
                species.vectorBitSize() == 512 && VectorDecode512.worthIt(),
                mcOneThread);
    }

    private VectorKernels(
            int threads, VectorSpecies<Float> species, long minFlopsPerThread, boolean vectorDecode, int mcOneThread) {
        if (threads < 1) {
            throw new IllegalArgumentException("VectorKernels: threads must be >= 1, got " + threads);
        }
        if (species.vectorBitSize() > FloatVector.SPECIES_PREFERRED.vectorBitSize()) {
            throw new IllegalArgumentException("VectorKernels: " + species.vectorBitSize() + "-bit vectors requested"
                    + " but this CPU's preferred width is " + FloatVector.SPECIES_PREFERRED.vectorBitSize()
                    + " bits (emulated vectors would be slower than scalar); use a width <= the preferred one");
        }
        this.mk = switch (species.vectorBitSize()) {
            case 512 -> new MicroKernel512();
            case 256 -> new MicroKernel256();
            case 128 -> new MicroKernel128();
            default ->
                throw new UnsupportedOperationException("VectorKernels: no micro-kernel for "
                        + species.vectorBitSize() + "-bit vectors (have 128, 256 and 512); use ScalarKernels"
                        + " (-Dlakelora.kernels=scalar)");
        };
        this.threads = threads;
        this.mcRows = threads == 1 && mcOneThread % mk.mr == 0 ? mcOneThread : MC;
        this.minFlopsPerThread = Math.max(1, minFlopsPerThread);
        if (vectorDecode && species.vectorBitSize() != 512) {
            throw new IllegalArgumentException("VectorKernels: vector 4-bit decoding needs 512-bit vectors");
        }
        this.vectorDecode = vectorDecode;
    }

    /** Whether this CPU has a micro-kernel here (preferred vector width of 128, 256 or 512 bits). */
    public static boolean supportedHere() {
        int bits = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        return bits >= 128;
    }

    /**
     * The process's one vector width: {@code lakelora.vector.bits} when set, else the width {@link KernelChoice}
     * measured on this machine (cached per machine).
     */
    static VectorSpecies<Float> configuredSpecies() {
        return switch (KernelChoice.get().bits()) {
            case 512 -> FloatVector.SPECIES_512;
            case 256 -> FloatVector.SPECIES_256;
            default -> FloatVector.SPECIES_128;
        };
    }

    @Override
    public String name() {
        return mk.bits == 512 ? "vector-avx512" : mk.bits == 256 ? "vector-avx2" : "vector-128";
    }

    @Override
    public int threads() {
        return threads;
    }

    /** The Vector API operations, at the process's configured width ({@link #configuredSpecies}). */
    @Override
    public MathOps math() {
        return VectorMathOps.INSTANCE;
    }

    /** Vector width of the micro-kernel in bits (128, 256 or 512). */
    public int vectorBits() {
        return mk.bits;
    }

    /** Whether contiguous 4-bit runs are decoded with vector permutes (else the scalar pair table). */
    public boolean vectorDecode() {
        return vectorDecode;
    }

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
        checkGemmArgs(transA, m, n, k, a, aOff, lda, c, cOff, ldc);
        checkMatrix("B", b, bOff, ldb, transB ? n : k, transB ? k : n);
        gemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, null, null, beta, c, cOff, ldc);
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
        checkQuantShape(transB, n, k, b);
        checkGemmArgs(transA, m, n, k, a, aOff, lda, c, cOff, ldc);
        gemm(transA, transB, m, n, k, alpha, a, aOff, lda, null, 0, 0, b, null, beta, c, cOff, ldc);
    }

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
            LowRank extra,
            float beta,
            float[] c,
            int cOff,
            int ldc) {
        checkGemmArgs(transA, m, n, k, a, aOff, lda, c, cOff, ldc);
        checkMatrix("B", b, bOff, ldb, transB ? n : k, transB ? k : n);
        checkLowRank(extra, m, n);
        gemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, null, extra, beta, c, cOff, ldc);
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
            LowRank extra,
            float beta,
            float[] c,
            int cOff,
            int ldc) {
        checkQuantShape(transB, n, k, b);
        checkGemmArgs(transA, m, n, k, a, aOff, lda, c, cOff, ldc);
        checkLowRank(extra, m, n);
        gemm(transA, transB, m, n, k, alpha, a, aOff, lda, null, 0, 0, b, extra, beta, c, cOff, ldc);
    }

    private static void checkLowRank(LowRank e, int m, int n) {
        if (e.r() <= 0) throw new IllegalArgumentException("low-rank term: r must be > 0, got " + e.r());
        checkMatrix("low-rank A", e.a(), e.aOff(), e.lda(), m, e.r());
        checkMatrix("low-rank B", e.b(), e.bOff(), e.ldb(), e.transB() ? n : e.r(), e.transB() ? e.r() : n);
    }

    // ---- packed B (strips of nr columns, k-major inside a strip, edge strip zero-padded: the micro-kernel layout)
    // ----

    @Override
    public int packedBSize(int k, int n) {
        return Math.multiplyExact((n + mk.nr - 1) / mk.nr * mk.nr, k);
    }

    @Override
    public int packedBColumnAlign() {
        return mk.nr;
    }

    @Override
    public void packB(boolean transB, int k, int n, float[] b, int bOff, int ldb, float[] dst) {
        if (k < 0 || n < 0) throw new IllegalArgumentException("packB: k and n must be >= 0, got " + k + ", " + n);
        checkMatrix("B", b, bOff, ldb, transB ? n : k, transB ? k : n);
        if (dst.length < packedBSize(k, n)) {
            throw new IllegalArgumentException(
                    "packB: destination has " + dst.length + " floats, needs " + packedBSize(k, n));
        }
        if (k == 0 || n == 0) return;
        Packing.packB(transB, b, bOff, ldb, 0, n, 0, k, dst, mk.nr);
    }

    @Override
    public void sgemmPackedB(
            boolean transA,
            int m,
            int n0,
            int n1,
            int k0,
            int k1,
            float alpha,
            float[] a,
            int aOff,
            int lda,
            float[] packed,
            int k,
            int n,
            float beta,
            float[] c,
            int cOff,
            int ldc) {
        final int mr = mk.mr, nr = mk.nr;
        if (n0 % nr != 0 || n0 < 0 || n1 > n || n0 > n1 || k0 < 0 || k1 > k || k0 > k1 || m < 0) {
            throw new IllegalArgumentException("sgemmPackedB: columns [" + n0 + ", " + n1 + ") of " + n + " (start a"
                    + " multiple of " + nr + "), k range [" + k0 + ", " + k1 + ") of " + k + ", m=" + m);
        }
        int kc = k1 - k0;
        checkGemmArgs(transA, m, n1 - n0, kc, a, aOff, lda, c, cOff, ldc);
        if (m == 0 || n1 == n0) return;
        if (kc == 0) {
            scaleC(m, n1 - n0, alpha, beta, c, cOff, ldc);
            return;
        }
        GemmWorkspace ws = GemmWorkspace.get();
        float[] tile = ws.tile;
        int ps = transA ? lda : 1;
        int rs = transA ? 1 : lda;
        int full = m / mr * mr;
        float[] ap = null;
        if (full < m) {
            // the short last row strip, packed with zero padding (k-major, mr wide)
            ap = ws.aRows(mr * kc);
            Packing.packA(transA, a, aOff, lda, full, m - full, 0, kc, ap, mr);
        }
        for (int j = n0; j < n1; j += nr) {
            int cols = Math.min(nr, n1 - j);
            int bo = j * k + k0 * nr; // strip j / nr starts at (j / nr) * nr * k = j * k
            int cj = cOff + (j - n0);
            for (int i = 0; i < m; i += mr) {
                int rows = Math.min(mr, m - i);
                int co = cj + i * ldc;
                if (i < full) {
                    // op(A) read in place (measured faster than packing it for these short products)
                    mk.computeDirect(kc, a, transA ? aOff + i : aOff + i * lda, ps, rs, packed, bo, tile);
                } else {
                    mk.compute(kc, ap, 0, packed, bo, tile);
                }
                if (rows == mr && cols == nr) {
                    mk.storeFull(tile, c, co, ldc, alpha, beta);
                } else {
                    mk.storePartial(tile, c, co, ldc, rows, cols, alpha, beta);
                }
            }
        }
    }

    // ---- driver ----

    /** {@code ext}: a low-rank term added in the same pass over C ({@link LowRank}), or null. */
    private void gemm(
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
            QuantizedMatrix q,
            LowRank ext,
            float beta,
            float[] c,
            int cOff,
            int ldc) {
        if (m == 0 || n == 0) return;
        if (k == 0) {
            if (ext != null) {
                gemm(
                        false,
                        ext.transB(),
                        m,
                        n,
                        ext.r(),
                        ext.alpha(),
                        ext.a(),
                        ext.aOff(),
                        ext.lda(),
                        ext.b(),
                        ext.bOff(),
                        ext.ldb(),
                        null,
                        null,
                        beta,
                        c,
                        cOff,
                        ldc);
            } else {
                scaleC(m, n, alpha, beta, c, cOff, ldc);
            }
            return;
        }
        boolean small = m <= SMALL_M;
        int t = plannedThreads(m, n, k);
        // split columns in units of whole micro-tiles (small path: of 64 columns), else rows in whole strips
        int unitN = small ? 64 : mk.nr;
        int unitM = mk.mr;
        boolean splitN = (n + unitN - 1) / unitN >= t;
        if (!splitN && (small || (m + unitM - 1) / unitM < t)) t = 1;
        if (t == 1) {
            part(transA, transB, k, alpha, a, aOff, lda, b, bOff, ldb, q, ext, beta, c, cOff, ldc, 0, m, 0, n);
            return;
        }
        int units = splitN ? (n + unitN - 1) / unitN : (m + unitM - 1) / unitM;
        int unit = splitN ? unitN : unitM;
        int total = splitN ? n : m;
        Runnable[] parts = new Runnable[t];
        for (int w = 0; w < t; w++) {
            int lo = Math.min(total, (int) ((long) units * w / t) * unit);
            int hi = Math.min(total, (int) ((long) units * (w + 1) / t) * unit);
            int m0 = splitN ? 0 : lo, m1 = splitN ? m : hi, n0 = splitN ? lo : 0, n1 = splitN ? hi : n;
            parts[w] = () -> part(
                    transA, transB, k, alpha, a, aOff, lda, b, bOff, ldb, q, ext, beta, c, cOff, ldc, m0, m1, n0, n1);
        }
        team().run(parts);
    }

    /** The worker index of the parallelFor task running on this thread, or -1 outside one. */
    private static final ThreadLocal<int[]> TASK_WORKER = ThreadLocal.withInitial(() -> new int[] {-1});

    @Override
    public void parallelFor(int tasks, Task body) {
        if (tasks <= 0) return;
        int[] cur = TASK_WORKER.get();
        int t = Math.min(threads, tasks);
        if (t == 1 || cur[0] >= 0 || Thread.currentThread() instanceof WorkerTeam.Helper) {
            // one thread, or nested inside a task / a gemm part: run here, keeping the current worker index
            int w = Math.max(0, cur[0]);
            for (int i = 0; i < tasks; i++) body.run(i, w);
            return;
        }
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        Runnable[] drains = new Runnable[t];
        for (int w = 0; w < t; w++) {
            int worker = w;
            drains[w] = () -> drain(next, tasks, body, worker);
        }
        team().run(drains);
    }

    /** Takes tasks from the shared counter until none is left (dynamic balance; results do not depend on it). */
    private static void drain(java.util.concurrent.atomic.AtomicInteger next, int tasks, Task body, int worker) {
        int[] cur = TASK_WORKER.get();
        int prev = cur[0];
        cur[0] = worker;
        try {
            for (int i = next.getAndIncrement(); i < tasks; i = next.getAndIncrement()) body.run(i, worker);
        } finally {
            cur[0] = prev;
        }
    }

    private int plannedThreads(int m, int n, int k) {
        if (threads == 1
                || Thread.currentThread() instanceof WorkerTeam.Helper
                || TASK_WORKER.get()[0] >= 0) return 1;
        long flops = 2L * m * n * k;
        long byWork = Math.max(1, flops / minFlopsPerThread);
        return (int) Math.min(threads, byWork);
    }

    /** C[m0..m1, n0..n1) of the product, on the current thread. */
    private void part(
            boolean transA,
            boolean transB,
            int k,
            float alpha,
            float[] a,
            int aOff,
            int lda,
            float[] b,
            int bOff,
            int ldb,
            QuantizedMatrix q,
            LowRank ext,
            float beta,
            float[] c,
            int cOff,
            int ldc,
            int m0,
            int m1,
            int n0,
            int n1) {
        GemmWorkspace ws = GemmWorkspace.get();
        boolean small = m1 - m0 <= SMALL_M;
        if (ext != null && (small || n1 - n0 <= DIRECT_MAX_N)) {
            // paths without the fused tile loop: the low-rank product first, then the main one accumulating
            part(
                    false,
                    ext.transB(),
                    ext.r(),
                    ext.alpha(),
                    ext.a(),
                    ext.aOff(),
                    ext.lda(),
                    ext.b(),
                    ext.bOff(),
                    ext.ldb(),
                    null,
                    null,
                    beta,
                    c,
                    cOff,
                    ldc,
                    m0,
                    m1,
                    n0,
                    n1);
            part(transA, transB, k, alpha, a, aOff, lda, b, bOff, ldb, q, null, 1f, c, cOff, ldc, m0, m1, n0, n1);
            return;
        }
        if (small) {
            smallM(ws, transA, transB, k, alpha, a, aOff, lda, b, bOff, ldb, q, beta, c, cOff, ldc, m0, m1, n0, n1);
        } else {
            blocked(
                    ws, transA, transB, k, alpha, a, aOff, lda, b, bOff, ldb, q, ext, beta, c, cOff, ldc, m0, m1, n0,
                    n1);
        }
    }

    /**
     * The GotoBLAS loops over C[m0..m1, n0..n1). A low-rank term {@code ext} is computed per tile right before the
     * tile's first k slice, as one more (r-deep) slice with its own alpha, while the tile is in cache: the same bits
     * as a separate product first (then beta = 1), without that product's pass over C.
     */
    private void blocked(
            GemmWorkspace ws,
            boolean transA,
            boolean transB,
            int k,
            float alpha,
            float[] a,
            int aOff,
            int lda,
            float[] b,
            int bOff,
            int ldb,
            QuantizedMatrix q,
            LowRank ext,
            float beta,
            float[] c,
            int cOff,
            int ldc,
            int m0,
            int m1,
            int n0,
            int n1) {
        final int mr = mk.mr, nr = mk.nr;
        float[] ap = ws.ap, bp = ws.bp, tile = ws.tile;
        float[] pairs = q != null && q.codeData() != null ? ws.pairs(q.codeData()) : null;
        // more than one column panel (a wide B: gate/up, lm_head): pack all of op(A) once and reuse it per panel
        int mPad = (m1 - m0 + mr - 1) / mr * mr;
        boolean packAllA = n1 - n0 > NC && (long) mPad * k <= MAX_PACKED_A;
        float[] aAll = packAllA ? ws.aAll(mPad * k) : null;
        if (packAllA) {
            for (int pc = 0; pc < k; pc += sliceDepth(k, pc)) {
                Packing.packA(transA, a, aOff, lda, m0, m1 - m0, pc, sliceDepth(k, pc), aAll, pc * mPad, mr);
            }
        }
        int r = ext == null ? 0 : ext.r();
        for (int jc = n0; jc < n1; jc += NC) {
            int nc = Math.min(NC, n1 - jc);
            float beta0 = beta; // of the first k slice
            float[] bp2 = null;
            if (ext != null && nc <= DIRECT_MAX_N) {
                // a narrow last panel takes the direct path below: its low-rank product first, on its own
                part(
                        false,
                        ext.transB(),
                        r,
                        ext.alpha(),
                        ext.a(),
                        ext.aOff(),
                        ext.lda(),
                        ext.b(),
                        ext.bOff(),
                        ext.ldb(),
                        null,
                        null,
                        beta,
                        c,
                        cOff,
                        ldc,
                        m0,
                        m1,
                        jc,
                        jc + nc);
                beta0 = 1f;
            } else if (ext != null) {
                bp2 = ws.lowRankB(r * ((nc + nr - 1) / nr * nr));
                Packing.packB(ext.transB(), ext.b(), ext.bOff(), ext.ldb(), jc, nc, 0, r, bp2, nr);
            }
            for (int pc = 0; pc < k; pc += sliceDepth(k, pc)) {
                int kc = sliceDepth(k, pc);
                if (q == null) {
                    Packing.packB(transB, b, bOff, ldb, jc, nc, pc, kc, bp, nr);
                } else {
                    QuantPacking.packB(
                            q, transB, jc, nc, pc, kc, bp, nr, pairs, vectorDecode, ws.decodeTile, ws.decodeCodes);
                }
                // later k slices accumulate into what the first one wrote
                float be = pc == 0 ? beta0 : 1f;
                boolean lowRank = pc == 0 && bp2 != null;
                if (nc <= DIRECT_MAX_N) {
                    // few column strips (LoRA factors): op(A) read in place, once per strip
                    for (int jr = 0; jr < nc; jr += nr) {
                        direct(
                                transA,
                                a,
                                aOff,
                                lda,
                                pc,
                                kc,
                                alpha,
                                be,
                                c,
                                cOff,
                                ldc,
                                m0,
                                m1,
                                jc + jr,
                                Math.min(nr, nc - jr),
                                ap,
                                bp,
                                jr * kc,
                                tile);
                    }
                    continue;
                }
                for (int ic = m0; ic < m1; ic += mcRows) {
                    int mc = Math.min(mcRows, m1 - ic);
                    float[] apk = ap;
                    int ab = 0; // offset of this block's packed strips
                    if (packAllA) {
                        apk = aAll;
                        ab = pc * mPad + (ic - m0) * kc;
                    } else {
                        Packing.packA(transA, a, aOff, lda, ic, mc, pc, kc, ap, mr);
                    }
                    float[] ap2 = null;
                    if (lowRank) {
                        ap2 = ws.lowRankA(r * ((mc + mr - 1) / mr * mr));
                        Packing.packA(false, ext.a(), ext.aOff(), ext.lda(), ic, mc, 0, r, ap2, mr);
                    }
                    for (int jr = 0; jr < nc; jr += nr) {
                        int cols = Math.min(nr, nc - jr);
                        int bo = jr * kc;
                        for (int ir = 0; ir < mc; ir += mr) {
                            int rows = Math.min(mr, mc - ir);
                            int co = cOff + (ic + ir) * ldc + jc + jr;
                            float bt = be;
                            if (lowRank) {
                                // the low-rank slice of this tile (with beta), then the tile's first k slice adds
                                lowRankTile(r, ap2, ir * r, bp2, jr * r, c, co, ldc, rows, cols, ext.alpha(), be, tile);
                                bt = 1f;
                            }
                            if (rows == mr && cols == nr) {
                                if (bt == 0f) {
                                    mk.computeFull0(kc, apk, ab + ir * kc, bp, bo, c, co, ldc, alpha);
                                } else {
                                    mk.computeFullBeta(kc, apk, ab + ir * kc, bp, bo, c, co, ldc, alpha, bt);
                                }
                            } else {
                                mk.compute(kc, apk, ab + ir * kc, bp, bo, tile);
                                mk.storePartial(tile, c, co, ldc, rows, cols, alpha, bt);
                            }
                        }
                    }
                }
            }
        }
    }

    /** One tile of a low-rank term: C tile = alpha * (A2 B2 over r) + be * C tile, as a k slice of {@link #blocked}. */
    private void lowRankTile(
            int r,
            float[] ap2,
            int ao,
            float[] bp2,
            int bo,
            float[] c,
            int co,
            int ldc,
            int rows,
            int cols,
            float alpha,
            float be,
            float[] tile) {
        if (rows == mk.mr && cols == mk.nr) {
            if (be == 0f) {
                mk.computeFull0(r, ap2, ao, bp2, bo, c, co, ldc, alpha);
            } else {
                mk.computeFullBeta(r, ap2, ao, bp2, bo, c, co, ldc, alpha, be);
            }
        } else {
            mk.compute(r, ap2, ao, bp2, bo, tile);
            mk.storePartial(tile, c, co, ldc, rows, cols, alpha, be);
        }
    }

    /**
     * One column tile (e.g. a LoRA rank-r factor): each element of op(A) is used once, so full row strips are read
     * in place ({@link MicroKernel#computeDirect}) instead of packed; a short last strip is packed (zero-padded).
     */
    private void direct(
            boolean transA,
            float[] a,
            int aOff,
            int lda,
            int pc,
            int kc,
            float alpha,
            float be,
            float[] c,
            int cOff,
            int ldc,
            int m0,
            int m1,
            int jc,
            int cols,
            float[] ap,
            float[] bp,
            int bo,
            float[] tile) {
        final int mr = mk.mr, nr = mk.nr;
        int ps = transA ? lda : 1;
        int rs = transA ? 1 : lda;
        for (int ir = m0; ir < m1; ir += mr) {
            int rows = Math.min(mr, m1 - ir);
            if (rows == mr) {
                int ao = transA ? aOff + pc * lda + ir : aOff + ir * lda + pc;
                if (cols <= nr / 2) {
                    mk.computeDirectHalf(kc, a, ao, ps, rs, bp, bo, tile);
                } else {
                    mk.computeDirect(kc, a, ao, ps, rs, bp, bo, tile);
                }
            } else {
                Packing.packA(transA, a, aOff, lda, ir, rows, pc, kc, ap, mr);
                mk.compute(kc, ap, 0, bp, bo, tile);
            }
            int co = cOff + ir * ldc + jc;
            if (rows == mr && cols == nr) {
                mk.storeFull(tile, c, co, ldc, alpha, be);
            } else {
                mk.storePartial(tile, c, co, ldc, rows, cols, alpha, be);
            }
        }
    }

    /** Few rows of op(A): dot products (transB) or row axpys, op(B) read once, no packing. */
    private void smallM(
            GemmWorkspace ws,
            boolean transA,
            boolean transB,
            int k,
            float alpha,
            float[] a,
            int aOff,
            int lda,
            float[] b,
            int bOff,
            int ldb,
            QuantizedMatrix q,
            float beta,
            float[] c,
            int cOff,
            int ldc,
            int m0,
            int m1,
            int n0,
            int n1) {
        int rows = m1 - m0;
        // rows of op(A), contiguous: in place when A is not transposed, else gathered
        float[] ar;
        int arOff, ars;
        if (!transA) {
            ar = a;
            arOff = aOff + m0 * lda;
            ars = lda;
        } else {
            ar = ws.aRows(rows * k);
            for (int i = 0; i < rows; i++) {
                for (int p = 0; p < k; p++) ar[i * k + p] = a[aOff + p * lda + m0 + i];
            }
            arOff = 0;
            ars = k;
        }
        float[] pairs = q != null && q.codeData() != null ? ws.pairs(q.codeData()) : null;
        if (transB) {
            float[] row = q != null ? ws.row(k) : null;
            for (int j = n0; j < n1; j++) {
                float[] br;
                int bro;
                if (q == null) {
                    br = b;
                    bro = bOff + j * ldb;
                } else {
                    QuantPacking.decode(q, pairs, (long) j * q.cols(), k, row, 0, 1, vectorDecode);
                    br = row;
                    bro = 0;
                }
                for (int i = 0; i < rows; i++) {
                    float acc = mk.dot(ar, arOff + i * ars, br, bro, k);
                    int ci = cOff + (m0 + i) * ldc + j;
                    c[ci] = beta == 0f ? alpha * acc : alpha * acc + beta * c[ci];
                }
            }
        } else {
            int w = n1 - n0;
            for (int i = 0; i < rows; i++) {
                int ci = cOff + (m0 + i) * ldc + n0;
                if (beta == 0f) {
                    java.util.Arrays.fill(c, ci, ci + w, 0f);
                } else if (beta != 1f) {
                    for (int j = 0; j < w; j++) c[ci + j] *= beta;
                }
            }
            float[] row = q != null ? ws.row(w) : null;
            for (int p = 0; p < k; p++) {
                float[] br;
                int bro;
                if (q == null) {
                    br = b;
                    bro = bOff + p * ldb + n0;
                } else {
                    QuantPacking.decode(q, pairs, (long) p * q.cols() + n0, w, row, 0, 1, vectorDecode);
                    br = row;
                    bro = 0;
                }
                for (int i = 0; i < rows; i++) {
                    float s = alpha * ar[arOff + i * ars + p];
                    mk.axpy(s, br, bro, c, cOff + (m0 + i) * ldc + n0, w);
                }
            }
        }
    }

    private static void scaleC(int m, int n, float alpha, float beta, float[] c, int cOff, int ldc) {
        float zero = alpha * 0f;
        for (int i = 0; i < m; i++) {
            int ci = cOff + i * ldc;
            for (int j = 0; j < n; j++) c[ci + j] = beta == 0f ? zero : zero + beta * c[ci + j];
        }
    }

    private WorkerTeam team() {
        WorkerTeam p = team;
        if (p == null) {
            synchronized (this) {
                p = team;
                if (p == null) {
                    p = new WorkerTeam(threads - 1, SPIN_NANOS, "lakelora-kernels");
                    team = p;
                }
            }
        }
        return p;
    }

    // ---- argument checks (a clear message instead of an index error deep in a packing loop) ----

    private static void checkGemmArgs(
            boolean transA, int m, int n, int k, float[] a, int aOff, int lda, float[] c, int cOff, int ldc) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("gemm: dimensions must be >= 0, got m=" + m + " n=" + n + " k=" + k);
        }
        checkMatrix("A", a, aOff, lda, transA ? k : m, transA ? m : k);
        checkMatrix("C", c, cOff, ldc, m, n);
    }

    private static void checkMatrix(String what, float[] x, int off, int ld, int rows, int cols) {
        if (rows == 0 || cols == 0) return;
        if (off < 0 || ld < cols) {
            throw new IllegalArgumentException("gemm: " + what + " is stored as " + rows + " rows x " + cols
                    + " columns, so its leading dimension must be >= " + cols + " and its offset >= 0; got ld=" + ld
                    + " offset=" + off);
        }
        long last = (long) off + (long) (rows - 1) * ld + cols - 1;
        if (last >= x.length) {
            throw new IllegalArgumentException("gemm: " + what + " (" + rows + " x " + cols + ", ld=" + ld + ", offset="
                    + off + ") needs " + (last + 1) + " floats, the array has " + x.length);
        }
    }
}
