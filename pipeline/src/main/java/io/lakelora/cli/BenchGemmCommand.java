package io.lakelora.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.bench.TorchPeer;
import io.lakelora.kernel.FmaPeak;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.kernel.RandomWeights;
import io.lakelora.kernel.VectorKernels;
import io.lakelora.quant.QuantType;
import io.lakelora.quant.QuantizedMatrix;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lakelora bench-gemm}: GFLOP/s of our fp32 {@code sgemm} and NF4 (double-quantized) {@code qgemm} in the
 * forward orientation {@code y = x W^T}, beside PyTorch on the same shapes and thread counts in the same run
 * ({@code bench/torch_mm.py} as a subprocess: {@code torch.mm} and torch's oneDNN linear), and beside the measured
 * Vector API FMA peak of one core. Timings are medians after warm-up; on a shared machine they are noisy, which is
 * why the load average is printed with them.
 */
@Command(
        name = "bench-gemm",
        description = "Benchmark the fp32 and NF4 GEMM kernels against PyTorch (same run) and the FMA peak.")
public final class BenchGemmCommand extends BaseCommand {

    @Option(
            names = "--threads",
            split = ",",
            defaultValue = "1,2",
            description = "Thread counts to measure (default: ${DEFAULT-VALUE}).")
    int[] threads;

    @Option(
            names = "--shapes",
            split = ",",
            defaultValue = "1024x1024x1024,1024x2048x5632",
            description = "Shapes MxNxK: x is [M, K], W is [N, K], y = x W^T is [M, N] (default: ${DEFAULT-VALUE}).")
    List<String> shapes;

    @Option(names = "--reps", defaultValue = "5", description = "Timed repetitions per case; the median is reported.")
    int reps;

    @Option(
            names = "--warmup",
            defaultValue = "2",
            description = "Untimed calls per case first (continued until at least 1.5 s has passed, so the JIT has"
                    + " compiled this shape's paths).")
    int warmup;

    @Option(
            names = "--vector-bits",
            description = "128, 256 or 512 (default: lakelora.vector.bits or the CPU's width).")
    Integer vectorBits;

    @Option(
            names = "--python",
            defaultValue = "/usr/bin/python3",
            description = "Python with torch for the peer measurement (default: ${DEFAULT-VALUE}).")
    String python;

    @Option(
            names = "--torch-coretype",
            defaultValue = "auto",
            description = "The peer's OpenBLAS kernel: auto (SkylakeX on AVX-512 CPUs, whatever OPENBLAS_CORETYPE says;"
                    + " else OpenBLAS's choice), inherit (keep the environment), or a core type (default: auto).")
    String torchCoretype;

    /** The peer's OpenBLAS core-type setting ({@link io.lakelora.bench.PeerBlas}), for the report. */
    private String peerBlas = "";

    @Option(names = "--no-torch", description = "Skip the PyTorch peer.")
    boolean noTorch;

    @Override
    protected Map<String, Object> execute() throws Exception {
        if (reps < 1 || warmup < 0) {
            throw new IllegalArgumentException("--reps must be >= 1 and --warmup >= 0, got " + reps + " and " + warmup);
        }
        List<int[]> dims = new ArrayList<>();
        for (String s : shapes) dims.add(parseShape(s));
        for (int t : threads) {
            if (t < 1) throw new IllegalArgumentException("--threads: each count must be >= 1, got " + t);
        }
        if (vectorBits != null) System.setProperty("lakelora.vector.bits", String.valueOf(vectorBits));

        Map<String, Object> out = new LinkedHashMap<>();
        out.put("cpus", Runtime.getRuntime().availableProcessors());
        out.put("load_average_before", loadAverage());
        VectorKernels probe = new VectorKernels(1);
        int bits = probe.vectorBits();
        out.put("kernels", probe.name());
        java.util.Map<String, Object> choice = io.lakelora.kernel.KernelProvider.vectorChoice(false);
        out.put(
                "vector_choice",
                choice.get("vector_bits") + "-bit, " + choice.get("mc_one_thread") + "-row blocks ("
                        + choice.get("source") + ")");
        log("[bench-gemm] measuring the " + bits + "-bit FMA peak of one core ...");
        double peak = FmaPeak.gflops(bits, 600);
        out.put("fma_peak_gflops_per_core", round1(peak));

        List<Map<String, Object>> rows = new ArrayList<>();
        for (int t : threads) {
            VectorKernels k = new VectorKernels(t);
            log("[bench-gemm] warm-up (" + t + " thread" + (t == 1 ? "" : "s") + "): " + KernelProvider.warmUp(k)
                    + " ms");
            for (int[] d : dims) {
                rows.add(measureOurs(k, d, peak));
            }
        }
        out.put("load_average_after_ours", loadAverage());
        out.put("torch", noTorch ? "skipped (--no-torch)" : addTorch(rows));
        out.put("results", rows);
        return out;
    }

    private Map<String, Object> measureOurs(VectorKernels k, int[] d, double peak) {
        int m = d[0], n = d[1], kk = d[2];
        Random rnd = new Random(7);
        float[] x = RandomWeights.floats(rnd, Math.multiplyExact(m, kk));
        float[] w = RandomWeights.floats(rnd, Math.multiplyExact(n, kk));
        QuantizedMatrix wq = RandomWeights.fourBit(rnd, QuantType.NF4, n, kk, 64, true);
        float[] y = new float[Math.multiplyExact(m, n)];
        double flops = 2.0 * m * n * kk;
        String shape = m + "x" + n + "x" + kk;
        log("[bench-gemm] " + shape + " threads=" + k.threads() + " ...");
        double[] sg = gflops(flops, () -> k.sgemm(false, true, m, n, kk, 1f, x, 0, kk, w, 0, kk, 0f, y, 0, n));
        double[] qg = gflops(flops, () -> k.qgemm(false, true, m, n, kk, 1f, x, 0, kk, wq, 0f, y, 0, n));
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("shape", shape);
        r.put("threads", k.threads());
        r.put("sgemm_gflops", round1(sg[0]));
        r.put("qgemm_nf4dq_gflops", round1(qg[0]));
        r.put("sgemm_pct_of_peak", round1(100 * sg[0] / (peak * k.threads())));
        r.put("qgemm_pct_of_peak", round1(100 * qg[0] / (peak * k.threads())));
        r.put("qgemm_vs_sgemm", round2(qg[0] / sg[0]));
        if (k.threads() == 1) {
            // one thread runs on this thread: its CPU time excludes time the OS gave to other processes
            r.put("sgemm_cpu_gflops", round1(sg[1]));
            r.put("qgemm_nf4dq_cpu_gflops", round1(qg[1]));
        }
        return r;
    }

    /** GFLOP/s from the median wall time and from the median CPU time of this thread, after warm-up. */
    private double[] gflops(double flops, Runnable call) {
        long until = System.nanoTime() + 1_500_000_000L; // C1 then C2 must compile every Vector API kernel method
        for (int i = 0; i < warmup || (warmup > 0 && System.nanoTime() < until); i++) call.run();
        ThreadMXBean tmx = ManagementFactory.getThreadMXBean();
        long[] wall = new long[reps], cpu = new long[reps];
        for (int i = 0; i < reps; i++) {
            long c0 = tmx.getCurrentThreadCpuTime(), t0 = System.nanoTime();
            call.run();
            wall[i] = System.nanoTime() - t0;
            cpu[i] = tmx.getCurrentThreadCpuTime() - c0;
        }
        return new double[] {flops / median(wall), flops / median(cpu)};
    }

    private static double median(long[] t) {
        long[] s = t.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
    }

    /** Runs the PyTorch peer and merges its figures into {@code rows}; returns a line describing the peer. */
    private String addTorch(List<Map<String, Object>> rows) throws IOException, InterruptedException {
        TorchPeer peer = TorchPeer.extract("torch_mm.py");
        Path script = peer.script();
        try {
            List<String> cmd = List.of(
                    python,
                    script.toString(),
                    "--shapes",
                    String.join(",", shapes),
                    "--threads",
                    String.join(
                            ",",
                            Arrays.stream(threads).mapToObj(String::valueOf).toList()),
                    "--reps",
                    String.valueOf(reps),
                    "--warmup",
                    String.valueOf(warmup));
            log("[bench-gemm] PyTorch peer: " + String.join(" ", cmd));
            Process p;
            try {
                ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
                peerBlas = io.lakelora.bench.PeerBlas.configure(pb.environment(), torchCoretype);
                p = pb.start();
            } catch (IOException e) {
                String msg = "PyTorch peer NOT measured: cannot run " + python + " (" + e.getMessage()
                        + "); install python3-torch or pass --python";
                log("[bench-gemm] " + msg);
                return msg;
            }
            String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(30, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException("PyTorch peer did not finish within 30 minutes");
            }
            JsonNode root = stdout.isEmpty()
                    ? null
                    : new ObjectMapper()
                            .readTree(stdout.lines().reduce((a, b) -> b).orElse(""));
            if (root == null || root.has("error") || p.exitValue() != 0) {
                String why = root != null && root.has("error")
                        ? root.get("error").asText()
                        : "exit code " + p.exitValue() + ", output: " + stdout;
                String msg = "PyTorch peer NOT measured: " + why
                        + (root != null && root.path("refused").asBoolean()
                                ? ""
                                : " (install python3-torch or pass --python)");
                log("[bench-gemm] " + msg);
                return msg;
            }
            for (JsonNode r : root.get("results")) {
                for (Map<String, Object> row : rows) {
                    if (row.get("shape").equals(r.get("shape").asText())
                            && (int) row.get("threads") == r.get("threads").asInt()) {
                        double mm = r.get("mm_gflops").asDouble();
                        row.put("torch_mm_gflops", round1(mm));
                        row.put("sgemm_vs_torch_mm", round2((double) row.get("sgemm_gflops") / mm));
                        row.put("qgemm_vs_torch_mm", round2((double) row.get("qgemm_nf4dq_gflops") / mm));
                        if (!r.get("onednn_gflops").isNull()) {
                            double dnn = r.get("onednn_gflops").asDouble();
                            row.put("torch_onednn_gflops", round1(dnn));
                            row.put("sgemm_vs_torch_onednn", round2((double) row.get("sgemm_gflops") / dnn));
                            row.put("qgemm_vs_torch_onednn", round2((double) row.get("qgemm_nf4dq_gflops") / dnn));
                        }
                        if (row.containsKey("sgemm_cpu_gflops") && r.hasNonNull("onednn_cpu_gflops")) {
                            double dnnCpu = r.get("onednn_cpu_gflops").asDouble();
                            row.put("torch_onednn_cpu_gflops", round1(dnnCpu));
                            row.put("sgemm_vs_torch_onednn_cpu", round2((double) row.get("sgemm_cpu_gflops") / dnnCpu));
                        }
                    }
                }
            }
            return "torch " + root.get("torch").asText() + ", torch.mm BLAS: "
                    + root.get("blas_lib").asText() + " [" + peerBlas + "]";
        } finally {
            peer.close();
        }
    }

    @Override
    protected void printHuman(Map<String, Object> result, PrintStream out) {
        result.forEach((key, v) -> {
            if (!key.equals("results")) out.println(key + ": " + v);
        });
        out.printf(
                "%-16s %3s %9s %9s %7s %9s %9s %9s %9s %9s %9s %9s%n",
                "shape MxNxK",
                "thr",
                "sgemm",
                "qgemm-nf4",
                "%peak",
                "torch.mm",
                "oneDNN",
                "sg/mm",
                "sg/dnn",
                "q/dnn",
                "sg-cpu",
                "dnn-cpu");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> rows = (List<Map<String, Object>>) result.get("results");
        for (Map<String, Object> r : rows) {
            out.printf(
                    "%-16s %3s %9s %9s %7s %9s %9s %9s %9s %9s %9s %9s%n",
                    r.get("shape"),
                    r.get("threads"),
                    r.get("sgemm_gflops"),
                    r.get("qgemm_nf4dq_gflops"),
                    r.get("sgemm_pct_of_peak"),
                    r.getOrDefault("torch_mm_gflops", "-"),
                    r.getOrDefault("torch_onednn_gflops", "-"),
                    r.getOrDefault("sgemm_vs_torch_mm", "-"),
                    r.getOrDefault("sgemm_vs_torch_onednn", "-"),
                    r.getOrDefault("qgemm_vs_torch_onednn", "-"),
                    r.getOrDefault("sgemm_cpu_gflops", "-"),
                    r.getOrDefault("torch_onednn_cpu_gflops", "-"));
        }
        out.println("(GFLOP/s, medians of wall time; %peak = sgemm / (threads x one-core FMA peak); sg-cpu and dnn-cpu"
                + " (1 thread) use the thread's CPU time, robust to other processes on a shared machine; see"
                + " load_average)");
    }

    static int[] parseShape(String s) {
        String[] p = s.trim().toLowerCase().split("x");
        try {
            if (p.length == 3) {
                int[] d = {Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2])};
                if (d[0] > 0 && d[1] > 0 && d[2] > 0) return d;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(
                "--shapes: '" + s + "' is not MxNxK with positive integers" + " (e.g. 1024x2048x5632)");
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | UncheckedIOException e) {
            return String.format(
                    "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        }
    }

    private static double round1(double v) {
        return Math.round(v * 10) / 10.0;
    }

    private static double round2(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
