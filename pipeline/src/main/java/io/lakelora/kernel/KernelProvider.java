package io.lakelora.kernel;

import io.lakelora.quant.QuantType;
import io.lakelora.quant.QuantizedMatrix;
import java.util.Random;

/**
 * Picks the kernel implementation once per JVM (holder idiom) and logs the choice to stderr.
 *
 * <p>{@link VectorKernels} when the Vector API module is present ({@code --add-modules=jdk.incubator.vector}) and
 * the CPU has 256- or 512-bit vectors, else {@link ScalarKernels}, which (with its {@link ScalarMathOps}) loads no
 * {@code jdk.incubator.vector} class, so {@code -Dlakelora.kernels=scalar} runs without that module. System
 * properties: {@code lakelora.kernels} = {@code scalar} | {@code vector} forces one (forcing {@code vector} where it
 * cannot run is an error);
 * {@code lakelora.threads} sets threads per call (default: available processors);
 * {@code lakelora.vector.bits} = 128 | 256 | 512 forces a vector width; {@code lakelora.vector.decode} = on | off forces the
 * vector 4-bit decoder (default: on with 512-bit vectors, 2-3x faster than the scalar table on Java 17 and 25);
 * {@code lakelora.kernels.spin.us} sets how long idle helper threads spin before parking (default 2000; 0 parks at
 * once, for machines where cores are shared with other work).
 */
public final class KernelProvider {
    private KernelProvider() {}

    private static final class Holder {
        static final Kernels INSTANCE = choose();
    }

    private static final class WarmUp {
        static final long MILLIS = warmUp(Holder.INSTANCE);
    }

    /**
     * This process's vector width and one-thread row block ({@link KernelChoice}), how they were chosen, and this
     * machine's cached measurements. {@code remeasure} forgets the cached choice first (only before the process has
     * used the vector kernels: the width is fixed for a process once chosen).
     */
    public static java.util.Map<String, Object> vectorChoice(boolean remeasure) {
        if (remeasure) KernelChoice.forget();
        KernelChoice.Choice c = KernelChoice.get();
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("vector_bits", c.bits());
        m.put("mc_one_thread", c.mcOneThread());
        m.put("source", c.source());
        m.put("cpu_preferred_bits", jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize());
        m.put("cache_file", KernelChoice.cacheFile().toString());
        m.put("machine_key", KernelChoice.machineKey());
        m.put("measured_gflops", KernelChoice.measurements());
        return m;
    }

    /** The kernels of this JVM. */
    public static Kernels get() {
        return Holder.INSTANCE;
    }

    private static final java.util.Map<Integer, Kernels> BY_THREADS = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Kernels of the same implementation as {@link #get()} using {@code threads} threads per call (one shared instance
     * per thread count), e.g. {@code spark.task.cpus} for a Spark task, so concurrent tasks don't oversubscribe cores.
     */
    public static Kernels withThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("kernel threads must be >= 1, got " + threads);
        Kernels base = get();
        if (base.threads() == threads) return base;
        return BY_THREADS.computeIfAbsent(threads, t -> isVector(base) ? new VectorKernels(t) : base);
    }

    /**
     * Runs every gemm orientation of {@link #get()} on small shapes (fp32 and NF4) once per JVM, so that the JIT has
     * compiled the hot loops before the first real step (call it when an executor loads a model). Later calls return
     * at once.
     *
     * @return milliseconds the warm-up took (the same value on every call)
     */
    public static long warmUp() {
        return WarmUp.MILLIS;
    }

    private static Kernels choose() {
        String forced = System.getProperty("lakelora.kernels", "").trim().toLowerCase();
        int threads = threadsProperty();
        Kernels k = create(forced, threads);
        boolean vector = isVector(k);
        String width = vector ? vectorDetails((VectorKernels) k) : "";
        System.err.println("[lakelora] kernels: " + k.name() + " (" + k.threads() + " thread"
                + (k.threads() == 1 ? "" : "s") + width + (forced.isEmpty() ? "" : ", forced: " + forced) + ")");
        if (vector) {
            String hint = trapLimitHint(currentTrapLimit());
            if (hint != null) System.err.println("[lakelora] " + hint);
        }
        return k;
    }

    /**
     * Whether k is the Vector API backend. The scalar backend is recognized by its class first, so that a JVM on
     * {@code lakelora.kernels=scalar} never loads {@link VectorKernels} (nor, through it, any Vector API class).
     */
    private static boolean isVector(Kernels k) {
        return k.getClass() != ScalarKernels.class && k instanceof VectorKernels;
    }

    private static String vectorDetails(VectorKernels v) {
        return ", " + v.vectorBits() + "-bit vectors, 4-bit decode: " + (v.vectorDecode() ? "vector" : "scalar table");
    }

    /** The per-method trap limit the vector kernels need to stay compiled as intrinsics (docs/spark-submit.md). */
    static final long MIN_TRAP_LIMIT = 1000;

    /**
     * A note for the log when HotSpot's {@code PerMethodTrapLimit} is below {@link #MIN_TRAP_LIMIT} (-1 = unknown, no
     * note): C2 adds up the traps of all methods it inlines into one compilation, and past the limit it compiles a
     * large Vector API kernel without the intrinsics, 3-8x slower, in some processes and not others.
     */
    static String trapLimitHint(long limit) {
        if (limit < 0 || limit >= MIN_TRAP_LIMIT) return null;
        return "JVM option PerMethodTrapLimit=" + limit + ": the large vector kernels may be compiled without the"
                + " Vector API intrinsics in some processes (3-8x slower 4-bit decoding); add -XX:PerMethodTrapLimit="
                + MIN_TRAP_LIMIT + " to the JVM options (bin/jvm.args has it)";
    }

    /** This JVM's PerMethodTrapLimit, or -1 where it cannot be read (not HotSpot). */
    static long currentTrapLimit() {
        try {
            var bean = java.lang.management.ManagementFactory.getPlatformMXBean(
                    com.sun.management.HotSpotDiagnosticMXBean.class);
            return Long.parseLong(bean.getVMOption("PerMethodTrapLimit").getValue());
        } catch (RuntimeException | LinkageError e) {
            return -1;
        }
    }

    /** The implementation for a {@code lakelora.kernels} value ("" = automatic) and a thread count. */
    static Kernels create(String forced, int threads) {
        switch (forced) {
            case "scalar":
                return new ScalarKernels();
            case "vector": {
                String why = vectorUnavailableReason();
                if (why != null) {
                    throw new IllegalStateException(
                            "lakelora.kernels=vector but the Vector API kernels cannot run: " + why);
                }
                return newVector(threads);
            }
            case "":
            case "auto": {
                String why = vectorUnavailableReason();
                if (why != null) {
                    System.err.println("[lakelora] vector kernels unavailable (" + why + "); using scalar kernels");
                    return new ScalarKernels();
                }
                return newVector(threads);
            }
            default:
                throw new IllegalArgumentException("system property lakelora.kernels='" + forced
                        + "': expected scalar or vector (or unset to choose automatically)");
        }
    }

    /** Null when {@link VectorKernels} can run here, else why not. */
    static String vectorUnavailableReason() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return "module jdk.incubator.vector not loaded; add --add-modules=jdk.incubator.vector to the JVM options";
        }
        try {
            return VectorKernels.supportedHere()
                    ? null
                    : "no micro-kernel for this CPU's vector width (have 256 and 512 bits)";
        } catch (LinkageError e) {
            return "Vector API classes failed to load: " + e;
        }
    }

    private static Kernels newVector(int threads) {
        return new VectorKernels(threads);
    }

    private static int threadsProperty() {
        String s = System.getProperty("lakelora.threads", "").trim();
        if (s.isEmpty()) return Runtime.getRuntime().availableProcessors();
        try {
            int t = Integer.parseInt(s);
            if (t >= 1) return t;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(
                "system property lakelora.threads='" + s + "': expected a whole number >= 1 (threads per kernel call)");
    }

    /**
     * Warms up any kernels instance (the workload of {@link #warmUp()}: all four sgemm orientations, NF4 qgemm
     * forward and input-gradient, the one-token path), for code that builds its own {@link VectorKernels}.
     *
     * @return milliseconds it took
     */
    public static long warmUp(Kernels k) {
        long t0 = System.nanoTime();
        Random rnd = new Random(1);
        int m = 48, n = 96, kk = 1100; // two k slices and edge tiles
        float[] a = RandomWeights.floats(rnd, m * kk);
        float[] b = RandomWeights.floats(rnd, n * kk);
        float[] c = new float[m * n];
        float[] dx = new float[m * kk];
        QuantizedMatrix w = RandomWeights.fourBit(rnd, QuantType.NF4, n, kk, 64, true);
        for (int it = 0; it < 40; it++) {
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                k.sgemm(ta, tb, m, n, kk, 1f, a, 0, ta ? m : kk, b, 0, tb ? kk : n, 0f, c, 0, n);
            }
            k.qgemm(false, true, m, n, kk, 1f, a, 0, kk, w, 0f, c, 0, n); // y = x W^T
            k.qgemm(false, false, m, kk, n, 1f, c, 0, n, w, 0f, dx, 0, kk); // dx = dy W
            k.qgemm(false, true, 1, n, kk, 1f, a, 0, kk, w, 0f, c, 0, n); // one token
        }
        return (System.nanoTime() - t0) / 1_000_000L;
    }
}
