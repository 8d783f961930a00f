package io.lakelora.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.bench.BenchCheckpoint;
import io.lakelora.bench.BenchShape;
import io.lakelora.bench.LoraStepFlops;
import io.lakelora.bench.ProcStatus;
import io.lakelora.bench.TorchPeer;
import io.lakelora.bench.TrainStepBench;
import io.lakelora.kernel.FmaPeak;
import io.lakelora.kernel.VectorKernels;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.LayerRing;
import io.lakelora.model.ModelConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lakelora bench-train}: LoRA training throughput (tokens/s), model FLOP utilisation and peak RSS of named model
 * shapes with random NF4+DQ weights (seq T, batch 1, all-linear LoRA, PEFT init, AdamW on the adapter slab), beside a
 * PyTorch script doing the same step on an fp32 frozen base ({@code bench/torch_lora_step.py}) with the same thread
 * counts, in the same run. Each shape runs in a fresh child JVM (and torch in its own process) so that every peak RSS
 * belongs to one shape. MFU = {@link LoraStepFlops} / median step time / (threads x the measured one-core FMA peak).
 * The machine's load average is printed next to each figure: on a shared machine they are provisional. With
 * {@code --rounds N} the two sides alternate N times per shape and each reports the median of all its timed steps,
 * so that a machine whose speed drifts over minutes does not favour whichever side ran in the faster stretch.
 * A streamed shape ({@code llama3-70b}, or any with {@code --stream}) first has a child JVM write its random checkpoint
 * to the cache directory (once; {@link BenchCheckpoint}), then trains over it read layer by layer from disk and
 * reports the reading beside the step: bytes per step, throughput, the compute's wait and the share hidden.
 */
@Command(
        name = "bench-train",
        description = "LoRA training tokens/s, MFU and peak RSS of random NF4 models vs PyTorch.")
public final class BenchTrainCommand extends BaseCommand {

    @Option(
            names = "--configs",
            split = ",",
            defaultValue = "100m,tinyllama",
            description =
                    "Shapes: tiny, 100m, tinyllama, qwen3-1.7b, llama3-8b, llama3-70b (default: ${DEFAULT-VALUE})."
                            + " llama3-70b is streamed from a checkpoint on disk (written once under --cache-dir, ~44 GB).")
    List<String> configs;

    @Option(
            names = "--layers",
            description = "Use only the first N decoder layers of each shape (e.g. a few layers of llama3-70b to try"
                    + " the streaming path quickly).")
    Integer layers;

    @Option(
            names = "--cache-dir",
            description = "Where streamed shapes' random checkpoints are written once and reused (default:"
                    + " $XDG_CACHE_HOME/lakelora/bench, else ~/.cache/lakelora/bench).")
    Path cacheDir;

    @Option(
            names = "--ring",
            defaultValue = "2",
            description = "Streamed shapes: layer buffers K of the ring (one computing, K-1 being read; default:"
                    + " ${DEFAULT-VALUE}).")
    int ring;

    @Option(
            names = "--stream-io",
            defaultValue = "read",
            description = "Streamed shapes: read (explicit positional reads) or mmap (a memory map, each layer's pages"
                    + " loaded by the prefetch thread: madvise WILLNEED + touch) (default: ${DEFAULT-VALUE}).")
    String streamIo;

    @Option(
            names = "--stream",
            description = "Stream every shape's base from a checkpoint on disk (as llama3-70b always is), even when it"
                    + " fits in memory.")
    boolean stream;

    @Option(
            names = "--io-only",
            description = "Streamed shapes: pass over the layers in a training step's order without computing (--steps"
                    + " passes): the read throughput of --stream-io alone.")
    boolean ioOnly;

    @Option(names = "--generate", hidden = true, description = "Internal: with --child, only write the checkpoint.")
    boolean generate;

    @Option(
            names = "--threads",
            split = ",",
            defaultValue = "1,2",
            description = "Thread counts, each measured on both sides (default: ${DEFAULT-VALUE}).")
    int[] threads;

    @Option(
            names = "--seq",
            defaultValue = "512",
            description = "Tokens per sequence T, batch 1 (default: ${DEFAULT-VALUE}).")
    int seq;

    @Option(
            names = "--rank",
            defaultValue = "16",
            description = "LoRA rank r; lora_alpha = 2r (default: ${DEFAULT-VALUE}).")
    int rank;

    @Option(names = "--steps", defaultValue = "3", description = "Timed steps per case; the median is reported.")
    int steps;

    @Option(
            names = "--rounds",
            defaultValue = "1",
            description = "Rounds per shape, alternating ours and torch (ours, torch, ours, torch, ...); each side's"
                    + " tokens/s is the median over all its timed steps (default: ${DEFAULT-VALUE}). On a shared machine"
                    + " whose speed drifts by minutes (5-9%% seen here), 2 rounds put both peers' steps on the same"
                    + " stretch of time.")
    int rounds;

    @Option(
            names = "--warmup",
            description =
                    "Untimed steps first, on both sides (default: 2, 1 for tiny, 0 for"
                            + " llama3-8b and llama3-70b): steady state; with 1, torch's TinyLlama steps were still falling 29 -> 24 -> 21 s.")
    Integer warmup;

    @Option(
            names = "--recompute",
            arity = "1",
            description = "Recompute activations in the backward (default: true for llama3-8b, else false).")
    Boolean recompute;

    @Option(
            names = "--heap",
            description = "-Xmx of each child JVM (default per shape: tiny 512m, 100m 3g, tinyllama 6g, qwen3-1.7b 8g,"
                    + " llama3-8b 13g, llama3-70b 14g).")
    String heap;

    @Option(names = "--seed", defaultValue = "1", description = "Weights, adapter and data seed.")
    long seed;

    @Option(
            names = "--python",
            defaultValue = "/usr/bin/python3",
            description = "Python with torch for the peer (default: ${DEFAULT-VALUE}).")
    String python;

    @Option(names = "--no-torch", description = "Skip the PyTorch peer.")
    boolean noTorch;

    @Option(
            names = "--torch-omp-spin",
            description = "Leave torch's OpenMP wait policy at its default (spinning). By"
                    + " default the peer runs with OMP_WAIT_POLICY=PASSIVE, its faster setting here: spinning left its 1-thread"
                    + " step unchanged and made its 2-thread 100M step 2.4x slower (OpenMP's and OpenBLAS's pools spin against"
                    + " each other on 2 cores).")
    boolean torchOmpSpin;

    @Option(
            names = "--torch-coretype",
            defaultValue = "auto",
            description = "The peer's OpenBLAS kernel: auto (SkylakeX on AVX-512 CPUs, whatever OPENBLAS_CORETYPE says;"
                    + " else OpenBLAS's choice), inherit (keep the environment), or a core type (default: auto).")
    String torchCoretype;

    /** The peer's OpenBLAS core-type setting ({@link io.lakelora.bench.PeerBlas}), for the report. */
    private String peerBlas = "";

    @Option(names = "--child", hidden = true, description = "Internal: measure the one shape in --configs in this JVM.")
    boolean child;

    @Override
    protected Map<String, Object> execute() throws Exception {
        validate();
        if (child) {
            BenchShape s = shape(configs.get(0));
            if (generate) return checkpoint(s);
            TrainStepBench.Streaming st = null;
            if (s.streamed()) {
                BenchCheckpoint.Result ck = BenchCheckpoint.ensure(
                        checkpointDir(s), s.name(), s.config(), seed, 1, m -> log("[bench-train child] " + m));
                st = new TrainStepBench.Streaming(ck.dir(), ring, io(), ioOnly);
            }
            return TrainStepBench.run(s, threads, seq, rank, steps, warmupFor(s), recomputeFor(s), seed, st);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("load_average_before", ProcStatus.loadAverage());
        out.put("cpus", Runtime.getRuntime().availableProcessors());
        VectorKernels probe = new VectorKernels(1);
        out.put("kernels", probe.name());
        java.util.Map<String, Object> choice = io.lakelora.kernel.KernelProvider.vectorChoice(false);
        out.put(
                "vector_choice",
                choice.get("vector_bits") + "-bit, " + choice.get("mc_one_thread") + "-row blocks ("
                        + choice.get("source") + ")");
        out.put(
                "setup",
                "batch 1, seq " + seq + ", LoRA r=" + rank + " alpha=" + 2 * rank + " on all 7 linears, dropout 0,"
                        + " PEFT init; ours: NF4+DQ base (blocksize 64), fp32 embeddings/lm_head; torch: fp32 base;"
                        + " AdamW lr 1e-4 wd 0.01 on the adapter only; random weights and tokens");
        log("[bench-train] measuring the " + probe.vectorBits() + "-bit FMA peak of one core ...");
        double peak = FmaPeak.gflops(probe.vectorBits(), 600);
        out.put("fma_peak_gflops_per_core", round1(peak));
        List<Map<String, Object>> rows = new ArrayList<>();
        Map<String, Object> shapes = new LinkedHashMap<>();
        String torchVersion = null;
        for (String configName : configs) {
            BenchShape s = shape(configName);
            String name = s.name();
            ModelConfig a = s.config();
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("description", s.description());
            info.put("params_m", round1(LoraStepFlops.totalParams(a) / 1e6));
            info.put("linear_params_m", round1(LoraStepFlops.linearParams(a) / 1e6));
            long targets = seq - 1L;
            LoraStepFlops flops = LoraStepFlops.of(a, rank, EnumSet.allOf(TargetModule.class), 1, seq, targets);
            info.put("flops_per_step", flops.total());
            info.put("gflop_per_step", round1(flops.total() / 1e9));
            info.put(
                    "gflop_split_base_lora_attention_head",
                    List.of(
                            round1(flops.baseLinear() / 1e9),
                            round1(flops.lora() / 1e9),
                            round1(flops.attention() / 1e9),
                            round1(flops.head() / 1e9)));

            if (s.streamed()) {
                log("[bench-train] " + name + ": checkpoint in " + checkpointDir(s) + " (written once, then reused)");
                info.put("checkpoint", ChildJvm.run("6g", generateArgs(configName, s), 600));
            }
            String h = heap != null ? heap : s.heap();
            List<JsonNode> oursRounds = new ArrayList<>();
            List<JsonNode> torchRounds = new ArrayList<>();
            String loadOurs = "";
            String loadTorch = "";
            JsonNode torchError = null;
            for (int round = 0; round < rounds; round++) {
                String tag = rounds > 1 ? " (round " + (round + 1) + " of " + rounds + ")" : "";
                log("[bench-train] " + name + tag + ": child JVM (-Xmx" + h + "), load " + ProcStatus.loadAverage());
                loadOurs += (round > 0 ? ", " : "") + load1();
                oursRounds.add(ChildJvm.run(h, childArgs(configName, s), 120));
                loadOurs += " -> " + load1();
                if (noTorch || !s.torchPeer() || torchError != null) continue;
                loadTorch += (round > 0 ? ", " : "") + load1();
                JsonNode tr = runTorch(s);
                loadTorch += " -> " + load1();
                if (tr.has("error")) {
                    torchError = tr;
                } else {
                    torchRounds.add(tr);
                }
            }
            JsonNode ours = merged(oursRounds);
            info.put("ours_build_s", ours.get("build_s").asDouble());
            info.put("ours_weights_mb", ours.get("weights_mb").asDouble());
            info.put(
                    "ours_linear_bits_per_param",
                    ours.get("linear_bits_per_param").asDouble());
            info.put("ours_recompute", ours.get("recompute").asBoolean());
            info.put("ours_heap", h);
            info.put(
                    "ours_peak_rss_mb",
                    ours.get("peak_rss_mb").isNull()
                            ? null
                            : ours.get("peak_rss_mb").asLong());
            info.put(
                    "ours_peak_anon_rss_mb",
                    ours.path("peak_anon_rss_mb").isNumber()
                            ? ours.get("peak_anon_rss_mb").asLong()
                            : null);
            if (ours.has("streaming")) info.put("ours_streaming", ours.get("streaming"));
            JsonNode torch = null;
            if (noTorch) {
                info.put("torch", "skipped (--no-torch)");
            } else if (!s.torchPeer()) {
                info.put(
                        "torch",
                        "skipped: an fp32 base of this shape needs " + round1(4.0 * LoraStepFlops.totalParams(a) / 1e9)
                                + " GB of memory; no peer ratio (MFU against the measured FMA peak only)");
            } else {
                if (torchError != null) {
                    info.put("torch", "NOT measured: " + torchError.get("error").asText());
                } else {
                    torch = merged(torchRounds);
                    torchVersion = "torch " + torch.get("torch").asText() + ", BLAS "
                            + torch.get("blas_lib").asText() + " [" + peerBlas + "]";
                    info.put("torch_peak_rss_mb", torch.get("peak_rss_mb").asLong());
                }
            }
            shapes.put(name, info);
            for (JsonNode r : ours.get("runs")) {
                if (ours.path("io_only").asBoolean()) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("config", name);
                    row.put("io_only", true);
                    row.put("threads", "read-only");
                    row.put("ours_step_s", r.get("median_step_s").asDouble());
                    row.put("ours_peak_rss_mb", info.get("ours_peak_rss_mb"));
                    row.put("ours_peak_anon_rss_mb", info.get("ours_peak_anon_rss_mb"));
                    putIo(row, medianStep(r));
                    rows.add(row);
                    continue;
                }
                int t = r.get("threads").asInt();
                double peakT = peak * t;
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("config", name);
                row.put("threads", t);
                double ourStep = r.get("median_step_s").asDouble();
                row.put("ours_tok_s", r.get("tok_s").asDouble());
                row.put("ours_step_s", ourStep);
                row.put("ours_cpu_s", r.get("median_cpu_s").asDouble());
                row.put("ours_mfu_pct", round1(100 * flops.total() / ourStep / 1e9 / peakT));
                row.put(
                        "ours_mfu_cpu_pct",
                        round1(100 * flops.total() / r.get("median_cpu_s").asDouble() / 1e9 / peak));
                row.put("ours_peak_rss_mb", info.get("ours_peak_rss_mb"));
                row.put("ours_peak_anon_rss_mb", info.get("ours_peak_anon_rss_mb"));
                // the reading of the median step (the first timed step when there are two)
                if (r.has("io") && r.get("io").size() > 0) putIo(row, medianStep(r));
                row.put("ours_loss_first", r.get("loss_first").asDouble());
                row.put("ours_load", loadOurs);
                JsonNode tr = torch == null ? null : find(torch.get("runs"), t);
                if (tr != null) {
                    double torchStep = tr.get("median_step_s").asDouble();
                    row.put("torch_tok_s", tr.get("tok_s").asDouble());
                    row.put("torch_step_s", torchStep);
                    row.put("torch_cpu_s", tr.get("median_cpu_s").asDouble());
                    row.put(
                            "torch_blas_threads",
                            tr.get("blas_threads").isNull()
                                    ? null
                                    : tr.get("blas_threads").asInt());
                    row.put("torch_mfu_pct", round1(100 * flops.total() / torchStep / 1e9 / peakT));
                    row.put(
                            "torch_mfu_cpu_pct",
                            round1(100 * flops.total() / tr.get("median_cpu_s").asDouble() / 1e9 / peak));
                    row.put("torch_peak_rss_mb", torch.get("peak_rss_mb").asLong());
                    row.put("torch_loss_first", tr.get("loss_first").asDouble());
                    row.put("torch_load", loadTorch);
                    row.put(
                            "ratio_ours_vs_torch",
                            round2(r.get("tok_s").asDouble() / tr.get("tok_s").asDouble()));
                    // per CPU-second of each process: less sensitive than wall time to other processes on the machine
                    row.put(
                            "ratio_ours_vs_torch_cpu",
                            round2(tr.get("median_cpu_s").asDouble()
                                    / r.get("median_cpu_s").asDouble()));
                }
                rows.add(row);
            }
        }
        out.put(
                "torch",
                noTorch
                        ? "skipped (--no-torch)"
                        : torchVersion == null
                                ? "not measured"
                                : torchVersion
                                        + (torchOmpSpin
                                                ? ", OpenMP default wait policy"
                                                : ", OMP_WAIT_POLICY=PASSIVE"));
        out.put("shapes", shapes);
        out.put("results", rows);
        out.put("load_average_after", ProcStatus.loadAverage());
        return out;
    }

    /** The shape named {@code name}, cut to --layers when given. */
    private BenchShape shape(String name) {
        BenchShape s = BenchShape.named(name);
        if (layers != null) s = s.withLayers(layers);
        return stream ? s.streamedFromDisk() : s;
    }

    private Path checkpointDir(BenchShape s) {
        return BenchCheckpoint.dirFor(cacheDir != null ? cacheDir : BenchCheckpoint.defaultRoot(), s.name(), seed);
    }

    private LayerRing.Io io() {
        return switch (streamIo) {
            case "read" -> LayerRing.Io.READ;
            case "mmap" -> LayerRing.Io.MMAP;
            default -> throw new IllegalArgumentException("--stream-io: expected read or mmap, got '" + streamIo + "'");
        };
    }

    /** The child that writes (or verifies) a streamed shape's checkpoint, with all cores. */
    private Map<String, Object> checkpoint(BenchShape s) {
        int workers = Runtime.getRuntime().availableProcessors();
        BenchCheckpoint.Result r = BenchCheckpoint.ensure(
                checkpointDir(s), s.name(), s.config(), seed, workers, m -> log("[bench-train checkpoint] " + m));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("dir", r.dir().toString());
        out.put("gb", round1(r.bytes() / 1e9));
        out.put("layers_written", r.layersWritten());
        out.put("layers_kept", r.layersKept());
        out.put("base_written", r.baseWritten());
        out.put("seconds", round1(r.seconds()));
        return out;
    }

    private List<String> generateArgs(String configName, BenchShape s) {
        List<String> a = new ArrayList<>(childArgs(configName, s));
        a.add("--generate");
        return a;
    }

    /** A step's reading as row fields. */
    private static void putIo(Map<String, Object> row, JsonNode io) {
        row.put("ours_read_gb_per_step", io.get("read_gb").asDouble());
        row.put("ours_read_gb_per_s", io.get("read_gb_per_s").asDouble());
        row.put("ours_read_s", io.get("read_s").asDouble());
        row.put("ours_io_wait_s", io.get("wait_s").asDouble());
        row.put("ours_io_hidden_pct", io.get("io_hidden_pct").asDouble());
        row.put("ours_layers_read", io.get("layers_read").asLong());
        row.put(
                "ours_disk_read_gb",
                io.get("disk_read_gb").isNull() ? null : io.get("disk_read_gb").asDouble());
    }

    /** The io entry of the median timed step of run {@code r}. */
    private static JsonNode medianStep(JsonNode r) {
        JsonNode steps = r.get("step_s");
        JsonNode io = r.get("io");
        double med = r.get("median_step_s").asDouble();
        int best = 0;
        for (int i = 1; i < Math.min(steps.size(), io.size()); i++) {
            if (Math.abs(steps.get(i).asDouble() - med)
                    < Math.abs(steps.get(best).asDouble() - med)) best = i;
        }
        return io.get(best);
    }

    private void validate() {
        if (configs.isEmpty()) throw new IllegalArgumentException("--configs: give at least one shape");
        for (String c : configs) shape(c);
        if (ring < 1) throw new IllegalArgumentException("--ring must be >= 1, got " + ring);
        io();
        for (int t : threads) {
            if (t < 1) throw new IllegalArgumentException("--threads: each count must be >= 1, got " + t);
        }
        if (seq < 2) throw new IllegalArgumentException("--seq must be >= 2 (one target token), got " + seq);
        if (rank < 1) throw new IllegalArgumentException("--rank must be >= 1, got " + rank);
        if (steps < 1) throw new IllegalArgumentException("--steps must be >= 1, got " + steps);
        if (rounds < 1) throw new IllegalArgumentException("--rounds must be >= 1, got " + rounds);
        if (warmup != null && warmup < 0) throw new IllegalArgumentException("--warmup must be >= 0, got " + warmup);
        if (child && configs.size() != 1) throw new IllegalArgumentException("--child measures exactly one shape");
    }

    private int warmupFor(BenchShape s) {
        return warmup != null ? warmup : s.warmup();
    }

    private boolean recomputeFor(BenchShape s) {
        return recompute != null ? recompute : s.recompute();
    }

    private List<String> childArgs(String configName, BenchShape s) {
        List<String> a = new ArrayList<>(List.of(
                "bench-train",
                "--child",
                "--json",
                "--configs",
                configName,
                "--threads",
                joined(threads),
                "--seq",
                String.valueOf(seq),
                "--rank",
                String.valueOf(rank),
                "--steps",
                String.valueOf(steps),
                "--warmup",
                String.valueOf(warmupFor(s)),
                "--recompute",
                String.valueOf(recomputeFor(s)),
                "--seed",
                String.valueOf(seed),
                "--ring",
                String.valueOf(ring),
                "--stream-io",
                streamIo));
        if (layers != null) a.addAll(List.of("--layers", String.valueOf(layers)));
        if (stream) a.add("--stream");
        if (ioOnly) a.add("--io-only");
        if (cacheDir != null)
            a.addAll(List.of("--cache-dir", cacheDir.toAbsolutePath().toString()));
        return a;
    }

    /** Runs bench/torch_lora_step.py; returns its JSON, or {"error": why} when torch could not run. */
    private JsonNode runTorch(BenchShape s) throws IOException, InterruptedException {
        ModelConfig a = s.config();
        TorchPeer peer = TorchPeer.extract("torch_lora_step.py");
        Path script = peer.script();
        ObjectMapper json = new ObjectMapper();
        try {
            List<String> cmd = List.of(
                    python,
                    script.toString(),
                    "--vocab",
                    String.valueOf(a.vocabSize()),
                    "--hidden",
                    String.valueOf(a.hiddenSize()),
                    "--ffn",
                    String.valueOf(a.intermediateSize()),
                    "--layers",
                    String.valueOf(a.numLayers()),
                    "--heads",
                    String.valueOf(a.numHeads()),
                    "--kv-heads",
                    String.valueOf(a.numKvHeads()),
                    "--head-dim",
                    String.valueOf(a.headDim()),
                    "--qk-norm",
                    String.valueOf(a.architecture().qkNorm()),
                    "--rope-theta",
                    String.valueOf(a.ropeTheta()),
                    "--eps",
                    String.valueOf(a.rmsNormEps()),
                    "--tied",
                    String.valueOf(a.tieWordEmbeddings()),
                    "--seq",
                    String.valueOf(seq),
                    "--rank",
                    String.valueOf(rank),
                    "--alpha",
                    String.valueOf(2 * rank),
                    "--threads",
                    joined(threads),
                    "--steps",
                    String.valueOf(steps),
                    "--warmup",
                    String.valueOf(warmupFor(s)),
                    "--seed",
                    String.valueOf(seed));
            log("[bench-train] " + s.name() + ": PyTorch peer, load " + ProcStatus.loadAverage() + ": "
                    + String.join(" ", cmd));
            Process p;
            try {
                ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
                if (!torchOmpSpin) pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
                peerBlas = io.lakelora.bench.PeerBlas.configure(pb.environment(), torchCoretype);
                p = pb.start();
            } catch (IOException e) {
                return json.createObjectNode()
                        .put(
                                "error",
                                "cannot run " + python + " (" + e.getMessage()
                                        + "); install python3-torch or pass --python");
            }
            String stdout;
            try {
                stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
                if (!p.waitFor(120, TimeUnit.MINUTES)) {
                    throw new IllegalStateException("PyTorch peer did not finish within 120 minutes");
                }
            } finally {
                if (p.isAlive()) p.destroyForcibly();
            }
            String last = stdout.lines().reduce((x, y) -> y).orElse("");
            JsonNode root = last.startsWith("{") ? json.readTree(last) : null;
            if (root == null || p.exitValue() != 0) {
                String why = root != null && root.has("error")
                        ? root.get("error").asText()
                        : "exit code " + p.exitValue() + ", output: " + last;
                return json.createObjectNode().put("error", why + " (install python3-torch or pass --python)");
            }
            return root;
        } finally {
            peer.close();
        }
    }

    /**
     * One side's result over its rounds: the first round's fields, "runs" with each thread count's timed steps of all
     * rounds ("step_s"), their median ("median_step_s", "tok_s"), the median of the rounds' median CPU seconds, and
     * the largest peak RSS.
     */
    JsonNode merged(List<JsonNode> sideRounds) {
        if (sideRounds.size() == 1) return sideRounds.get(0);
        com.fasterxml.jackson.databind.node.ObjectNode out = sideRounds.get(0).deepCopy();
        com.fasterxml.jackson.databind.node.ArrayNode runs = out.putArray("runs");
        for (JsonNode first : sideRounds.get(0).get("runs")) {
            int t = first.get("threads").asInt();
            List<Double> all = new ArrayList<>();
            double[] cpus = new double[sideRounds.size()];
            for (int i = 0; i < cpus.length; i++) {
                JsonNode r = find(sideRounds.get(i).get("runs"), t);
                for (JsonNode x : r.get("step_s")) all.add(x.asDouble());
                cpus[i] = r.get("median_cpu_s").asDouble();
            }
            double med = TrainStepBench.median(
                    all.stream().mapToDouble(Double::doubleValue).toArray());
            com.fasterxml.jackson.databind.node.ObjectNode r = first.deepCopy();
            com.fasterxml.jackson.databind.node.ArrayNode steps = r.putArray("step_s");
            all.forEach(steps::add);
            r.put("median_step_s", TrainStepBench.round(med));
            r.put("median_cpu_s", TrainStepBench.median(cpus));
            r.put("tok_s", TrainStepBench.round(seq / med));
            r.put("rounds", sideRounds.size());
            runs.add(r);
        }
        for (String k : List.of("peak_rss_mb", "peak_anon_rss_mb")) {
            long rss = -1;
            for (JsonNode round : sideRounds) {
                if (round.hasNonNull(k)) rss = Math.max(rss, round.get(k).asLong());
            }
            if (rss >= 0) out.put(k, rss);
        }
        return out;
    }

    /** The 1-minute load average. */
    private static String load1() {
        return ProcStatus.loadAverage().split(" ")[0];
    }

    private static JsonNode find(JsonNode runs, int threads) {
        for (JsonNode r : runs) if (r.get("threads").asInt() == threads) return r;
        return null;
    }

    private static String joined(int[] xs) {
        return String.join(",", Arrays.stream(xs).mapToObj(String::valueOf).toList());
    }

    @Override
    protected void printHuman(Map<String, Object> result, PrintStream out) {
        if (child) {
            result.forEach((k, v) -> out.println(k + ": " + v));
            return;
        }
        BenchTrainReport.print(result, out);
    }

    private static double round1(double v) {
        return Math.round(v * 10) / 10.0;
    }

    private static double round2(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
