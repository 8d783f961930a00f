package io.lakelora.kernel;

import io.lakelora.util.Assets;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;

/**
 * The vector width and the one-thread row blocking of the CPU backend, chosen by measurement rather than by the CPU's
 * name: the same AVX-512 instructions run at full rate on Zen 5, double-pumped on Zen 4 and with a clock penalty on
 * some Intel parts, so "widest" is not always fastest.
 *
 * <p>For each width the CPU supports (512, 256, 128 bits, up to {@code FloatVector.SPECIES_PREFERRED}) and each
 * one-thread row block ({@code MC_ONE_THREAD} candidates 12 and 48 rows), a child JVM runs a packed one-thread GEMM
 * until its speed stops improving ({@link Probe}); the fastest pair wins. Each width is measured in its own JVM because one process
 * must use one vector shape: C2 compiles Vector API code into per-lane fallbacks once two shapes have run (see
 * {@link VectorMathOps}). The result is cached per machine (CPU model, feature flags, core count, JVM version) in
 * {@code $XDG_CACHE_HOME/lakelora/kernel-choice.properties} (default {@code ~/.cache/lakelora}), so the children run
 * once per machine, 1-3 s each (JVM start and JIT warm-up, until the speed stops improving); every later process reads one small file. Neither choice changes any result bit
 * of a matrix product (every element is summed in the same k order at every width and row block).
 *
 * <p>{@code -Dlakelora.vector.bits=128|256|512} skips the measurement and forces a width (the row block is then the
 * cached one for that width, or the default); {@code -Dlakelora.kernels.choice=off} skips the measurement and cache
 * (the widest supported width, the default row block).
 */
final class KernelChoice {
    /** The chosen width in bits and one-thread row block. */
    record Choice(int bits, int mcOneThread, String source) {}

    /** One-thread row blocks measured; the first is the default ({@link VectorKernels#MC_ONE_THREAD}). */
    private static final int[] MC_CANDIDATES = {VectorKernels.MC_ONE_THREAD, 48};
    /** How much faster a less preferred candidate must be to be chosen. */
    private static final double MARGIN = 1.03;

    private static volatile Choice chosen;

    private KernelChoice() {}

    /** This process's choice (measured or cached once per machine, then fixed for the process). */
    static Choice get() {
        Choice c = chosen;
        if (c == null) {
            synchronized (KernelChoice.class) {
                c = chosen;
                if (c == null) chosen = c = decide();
            }
        }
        return c;
    }

    private static int preferredBits() {
        return Math.min(512, FloatVector.SPECIES_PREFERRED.vectorBitSize());
    }

    private static Choice decide() {
        String forced = System.getProperty("lakelora.vector.bits", "").trim();
        boolean off =
                "off".equals(System.getProperty("lakelora.kernels.choice", "").trim());
        if (!forced.isEmpty()) {
            int bits = switch (forced) {
                case "512" -> 512;
                case "256" -> 256;
                case "128" -> 128;
                default ->
                    throw new IllegalArgumentException("system property lakelora.vector.bits='" + forced
                            + "': expected 128, 256 or 512 (or unset for the CPU's preferred width)");
            };
            Properties cached = off ? null : readCache();
            String mc = cached == null ? null : cached.getProperty(machineKey() + ".mc." + bits);
            return new Choice(
                    bits,
                    mc == null ? VectorKernels.MC_ONE_THREAD : Integer.parseInt(mc),
                    "lakelora.vector.bits=" + bits);
        }
        if (off || preferredBits() < 128) return new Choice(preferredBits(), VectorKernels.MC_ONE_THREAD, "default");
        Properties cached = readCache();
        String key = machineKey();
        if (cached != null && cached.getProperty(key + ".bits") != null) {
            return new Choice(
                    Integer.parseInt(cached.getProperty(key + ".bits")),
                    Integer.parseInt(cached.getProperty(key + ".mc")),
                    "cached in " + cacheFile());
        }
        try {
            return measureOnce(key);
        } catch (IOException | RuntimeException e) {
            System.err.println("[lakelora] kernel choice: measuring the vector widths failed (" + e.getMessage()
                    + "); using " + preferredBits() + " bits. Fix: set -Dlakelora.vector.bits to skip the measurement");
            return new Choice(preferredBits(), VectorKernels.MC_ONE_THREAD, "default (measurement failed)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Choice(preferredBits(), VectorKernels.MC_ONE_THREAD, "default (interrupted)");
        }
    }

    /**
     * Measures under an exclusive lock on {@code kernel-choice.lock} beside the cache: JVMs starting together (Spark
     * executors on one node) measure once, the others wait and read the cache.
     */
    private static Choice measureOnce(String key) throws IOException, InterruptedException {
        Path lock = cacheFile().resolveSibling("kernel-choice.lock");
        Files.createDirectories(lock.getParent());
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(
                        lock, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
                java.nio.channels.FileLock l = ch.lock()) {
            Properties cached = readCache();
            if (cached != null && cached.getProperty(key + ".bits") != null) {
                return new Choice(
                        Integer.parseInt(cached.getProperty(key + ".bits")),
                        Integer.parseInt(cached.getProperty(key + ".mc")),
                        "cached in " + cacheFile());
            }
            return measureAndCache(key);
        }
    }

    /** Forgets this machine's cached choice (the next process measures again). */
    static void forget() {
        Properties p = readCache();
        if (p == null) return;
        String key = machineKey();
        p.stringPropertyNames().stream().filter(n -> n.startsWith(key + ".")).forEach(p::remove);
        writeCache(p);
    }

    /** This machine's cached measurements ({@code gflops.<bits>.mc<rows>} -> GFLOP/s), empty when none. */
    static java.util.SortedMap<String, String> measurements() {
        java.util.SortedMap<String, String> m = new java.util.TreeMap<>();
        Properties p = readCache();
        if (p == null) return m;
        String key = machineKey() + ".";
        for (String n : p.stringPropertyNames())
            if (n.startsWith(key)) m.put(n.substring(key.length()), p.getProperty(n));
        return m;
    }

    private static Choice measureAndCache(String key) throws IOException, InterruptedException {
        Properties p = readCache();
        if (p == null) p = new Properties();
        int bestBits = preferredBits();
        int bestMc = VectorKernels.MC_ONE_THREAD;
        double best = -1;
        StringBuilder summary = new StringBuilder();
        for (int bits = preferredBits(); bits >= 128; bits /= 2) {
            double[] g = runProbe(bits);
            int bestMcHere = MC_CANDIDATES[0];
            for (int i = 0; i < g.length; i++) {
                p.setProperty(
                        key + ".gflops." + bits + ".mc" + MC_CANDIDATES[i], String.format(Locale.ROOT, "%.1f", g[i]));
                // candidates in order of preference (widest first, the default row block first): a later one must be
                // MARGIN faster to win, so measurement noise does not flip the choice
                if (g[i] > g[indexOf(bestMcHere)] * MARGIN) bestMcHere = MC_CANDIDATES[i];
                if (g[i] > best * MARGIN) {
                    best = g[i];
                    bestBits = bits;
                    bestMc = MC_CANDIDATES[i];
                }
            }
            p.setProperty(key + ".mc." + bits, String.valueOf(bestMcHere));
            summary.append(String.format(Locale.ROOT, " %d-bit %.0f/%.0f", bits, g[0], g[1]));
        }
        p.setProperty(key + ".bits", String.valueOf(bestBits));
        p.setProperty(key + ".mc", String.valueOf(bestMc));
        p.setProperty(key + ".cpu", cpuModel());
        writeCache(p);
        System.err.println(
                "[lakelora] kernel choice: " + bestBits + "-bit vectors, " + bestMc + "-row blocks (one-thread"
                        + " GEMM GFLOP/s at 12/48-row blocks:" + summary + "); cached in " + cacheFile());
        return new Choice(bestBits, bestMc, "measured");
    }

    private static int indexOf(int mc) {
        for (int i = 0; i < MC_CANDIDATES.length; i++) if (MC_CANDIDATES[i] == mc) return i;
        return 0;
    }

    /** Runs {@link Probe} in a child JVM forced to {@code bits}; returns GFLOP/s per row-block candidate. */
    private static double[] runProbe(int bits) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--add-modules=jdk.incubator.vector");
        cmd.add("-Xmx256m");
        cmd.add("-XX:+UseSerialGC");
        // C2 straight away: the 512-bit micro-kernel is too big for C1 and runs interpreted (~1000x slower) until
        // C2's tiered thresholds are reached, which takes seconds on a large product
        cmd.add("-XX:-TieredCompilation");
        cmd.add("-XX:CompileThreshold=300");
        cmd.add("-Dlakelora.vector.bits=" + bits);
        cmd.add("-Dlakelora.kernels.choice=off");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Probe.class.getName());
        Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!proc.waitFor(60, TimeUnit.SECONDS)) {
            proc.destroyForcibly();
            throw new IOException("the " + bits + "-bit probe did not finish in 60 s");
        }
        for (String line : out.split("\n")) {
            if (line.startsWith("gflops ")) {
                String[] f = line.substring(7).trim().split(" ");
                double[] g = new double[f.length];
                for (int i = 0; i < f.length; i++) g[i] = Double.parseDouble(f[i]);
                return g;
            }
        }
        throw new IOException("the " + bits + "-bit probe printed no result: " + out.strip());
    }

    /** The machine identity the cache is keyed by: a hash of CPU model, flags, core count and JVM version. */
    static String machineKey() {
        String id = cpuModel() + "|" + cpuFlags() + "|" + Runtime.getRuntime().availableProcessors() + "|"
                + System.getProperty("java.vm.version");
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8));
            return "m" + HexFormat.of().formatHex(h, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String cpuModel() {
        return cpuinfo("model name");
    }

    private static String cpuFlags() {
        String f = cpuinfo("flags");
        return f.isEmpty() ? cpuinfo("Features") : f; // Features: ARM
    }

    private static String cpuinfo(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).trim().equals(field)) {
                    return line.substring(colon + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: the key falls back to the JVM's view below
        }
        return System.getProperty("os.arch") + "/" + FloatVector.SPECIES_PREFERRED.vectorBitSize();
    }

    static Path cacheFile() {
        return Assets.cacheDir().getParent().resolve("kernel-choice.properties");
    }

    private static Properties readCache() {
        Path f = cacheFile();
        if (!Files.isRegularFile(f)) return null;
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(f)) {
            p.load(in);
            return p;
        } catch (IOException | IllegalArgumentException e) {
            return null; // unreadable: measure again and rewrite it
        }
    }

    private static void writeCache(Properties p) {
        Path f = cacheFile();
        try {
            Files.createDirectories(f.getParent());
            Path tmp = Files.createTempFile(f.getParent(), "kernel-choice", ".tmp");
            try (OutputStream out = Files.newOutputStream(tmp)) {
                p.store(out, "LakeLoRA kernel choice per machine (delete to measure again)");
            }
            Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            System.err.println("[lakelora] kernel choice: could not cache it in " + f + " (" + e.getMessage() + ")");
        }
    }

    /**
     * The measurement, run in a child JVM whose width is forced: a packed one-thread GEMM (96 x 1024 x 512, a row
     * block of activations against a weight panel) with each row-block candidate in turn, the best thread CPU time of each, measured
     * until the JIT has been idle for 500 ms and none has improved for 300 ms (C2 compiles the 512-bit kernels late).  Prints {@code gflops G12 G48}.
     */
    static final class Probe {
        public static void main(String[] args) {
            int m = 96, n = 1024, k = 512;
            float[] a = new float[m * k];
            float[] b = new float[k * n];
            float[] c = new float[m * n];
            java.util.SplittableRandom r = new java.util.SplittableRandom(1);
            for (int i = 0; i < a.length; i++) a[i] = (float) r.nextDouble(-1, 1);
            for (int i = 0; i < b.length; i++) b[i] = (float) r.nextDouble(-1, 1);
            VectorKernels[] vk = new VectorKernels[MC_CANDIDATES.length];
            for (int i = 0; i < vk.length; i++) {
                vk[i] = new VectorKernels(
                        1, VectorKernels.configuredSpecies(), VectorKernels.MIN_FLOPS_PER_THREAD, MC_CANDIDATES[i]);
            }
            // warm-up on small products until C2 has compiled the micro-kernel (the Vector API runs ~1000x slower
            // interpreted, so one large product before that would take seconds), then on the measured shape
            float[] cs = new float[24 * 64];
            long warm = System.nanoTime() + 300L * 1_000_000L;
            while (System.nanoTime() < warm) {
                for (VectorKernels v : vk) v.sgemm(false, false, 24, 64, 128, 1f, a, 0, k, b, 0, n, 0f, cs, 0, 64);
            }
            for (VectorKernels v : vk) v.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
            // the candidates in turn, the best thread CPU time of each (CPU time: robust to other processes taking
            // the core)
            java.lang.management.ThreadMXBean tm = java.lang.management.ManagementFactory.getThreadMXBean();
            double[] g = new double[vk.length];
            // until the JIT has been idle for 500 ms and no candidate has improved for 300 ms (C2 compiles the
            // 512-bit kernels late, and a plateau at the C1/interpreter speed must not end the measurement), at most
            // 10 s
            java.lang.management.CompilationMXBean jit = java.lang.management.ManagementFactory.getCompilationMXBean();
            long start = System.nanoTime();
            long lastGain = start;
            long lastCompile = start;
            long compileMs = jit.getTotalCompilationTime();
            while ((System.nanoTime() - lastCompile < 500_000_000L || System.nanoTime() - lastGain < 300_000_000L)
                    && System.nanoTime() - start < 10_000_000_000L) {
                long cm = jit.getTotalCompilationTime();
                if (cm != compileMs) {
                    compileMs = cm;
                    lastCompile = System.nanoTime();
                }
                for (int i = 0; i < vk.length; i++) {
                    long t0 = tm.getCurrentThreadCpuTime();
                    vk[i].sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
                    double x = 2.0 * m * n * k / Math.max(1, tm.getCurrentThreadCpuTime() - t0);
                    if (x > g[i] * 1.02) lastGain = System.nanoTime();
                    g[i] = Math.max(g[i], x);
                }
            }
            StringBuilder sb = new StringBuilder("gflops");
            for (double x : g) sb.append(String.format(Locale.ROOT, " %.2f", x));
            System.out.println(sb);
        }
    }
}
