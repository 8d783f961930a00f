package io.lakelora.bench;

import io.lakelora.kernel.KernelProvider;
import io.lakelora.kernel.VectorKernels;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.FrozenBase;
import io.lakelora.model.LayerRing;
import io.lakelora.model.LayerSource;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.LoraLlama;
import io.lakelora.model.LoraSpec;
import io.lakelora.model.ModelConfig;
import io.lakelora.model.StreamedBase;
import io.lakelora.quant.Quantizer;
import io.lakelora.train.Batch;
import io.lakelora.train.LossSum;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The in-process side of {@code bench-train} (run in a fresh child JVM per shape so that peak RSS belongs to one shape):
 * random weights with every decoder linear generated and quantized to NF4+DQ one matrix at a time, a PEFT-initialised
 * all-linear LoRA adapter, then for each thread count {@code warmup} untimed and {@code steps} timed training steps on
 * one random sequence (labels = input ids): zero the gradient slab, forward + backward, scale to the mean loss, AdamW on
 * the adapter slab. Reports the median step time, tokens/s (B*T per step) and the process's peak RSS (total, and
 * anonymous as sampled every 100 ms). A streamed shape is read from its checkpoint on disk instead of built, and each
 * timed step also reports its reading ({@link #ioStats}).
 */
public final class TrainStepBench {
    private TrainStepBench() {}

    /** AdamW hyper-parameters of the step (torch.optim.AdamW's defaults except lr). */
    public static final float LR = 1e-4f, BETA1 = 0.9f, BETA2 = 0.999f, EPS = 1e-8f, WEIGHT_DECAY = 0.01f;

    public static final io.lakelora.train.AdamW ADAMW = new io.lakelora.train.AdamW(BETA1, BETA2, EPS, WEIGHT_DECAY);

    /**
     * Where a streamed shape's checkpoint is ({@link BenchCheckpoint}) and how its layers are read.
     *
     * @param slots  K, the layer buffers of the ring
     * @param ioOnly pass over the layers in a training step's order without computing: the read throughput alone
     */
    public record Streaming(Path dir, int slots, LayerRing.Io io, boolean ioOnly) {}

    /**
     * Measures {@code shape}: in memory (random weights built here), or with {@code streaming} non-null from its
     * checkpoint on disk through a ring of layer buffers.
     */
    public static Map<String, Object> run(
            BenchShape shape,
            int[] threads,
            int T,
            int r,
            int steps,
            int warmup,
            boolean recompute,
            long seed,
            Streaming streaming) {
        try (RssSampler rss = new RssSampler(100)) {
            ModelConfig a = shape.config();
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("config", shape.name());
            long t0 = System.nanoTime();
            FrozenBase base;
            StreamedBase streamed = null;
            if (streaming == null) {
                log("building " + shape.description() + ", NF4+DQ, layer by layer ...");
                LlamaWeights w = LlamaWeights.random(a, seed, 0.02f, Quantizer.qlora()::quantize);
                base = w;
                out.put("build_s", round(1e-9 * (System.nanoTime() - t0)));
                out.put("weights_mb", Math.round(w.residentBytes() / 1e5) / 10.0);
                out.put("linear_bits_per_param", round(w.linearBitsPerParam()));
            } else {
                log("opening " + streaming.dir() + ": " + shape.description() + ", NF4+DQ, streamed through "
                        + streaming.slots() + " layer buffers (" + streaming.io() + ") ...");
                streamed = StreamedBase.open(streaming.dir(), streaming.slots(), streaming.io());
                base = streamed;
                LayerRing ring = streamed.layerSource();
                out.put("build_s", round(1e-9 * (System.nanoTime() - t0)));
                out.put("weights_mb", Math.round(streamed.residentBytes() / 1e5) / 10.0);
                out.put(
                        "linear_bits_per_param",
                        round(8.0 * ring.layerBytes() * a.numLayers() / LoraStepFlops.linearParams(a)));
                Map<String, Object> st = new LinkedHashMap<>();
                st.put("dir", streaming.dir().toString());
                st.put("io", streaming.io().name().toLowerCase(java.util.Locale.ROOT));
                st.put("ring_slots", ring.slots());
                st.put("layer_mb", Math.round(ring.layerBytes() / 1e5) / 10.0);
                st.put("ring_mb", Math.round(ring.residentBytes() / 1e5) / 10.0);
                st.put("lm_head_mb", Math.round(base.lmHead().residentBytes() / 1e5) / 10.0);
                out.put("streaming", st);
            }
            out.put("rss_after_build_mb", ProcStatus.mb("VmRSS"));
            LoraSpec spec = LoraSpec.of(r, 2.0 * r, false, 0.0, EnumSet.allOf(TargetModule.class));
            AdapterLayout layout = spec.layout(a);
            out.put("lora_params", layout.size());
            out.put("recompute", recompute);
            Batch batch = randomBatch(a.vocabSize(), T, seed);
            List<Map<String, Object>> runs = new ArrayList<>();
            try {
                if (streaming != null && streaming.ioOnly()) {
                    out.put("io_only", true);
                    runs.add(readOnly(streamed, steps + warmup, warmup));
                }
                for (int t : streaming != null && streaming.ioOnly() ? new int[0] : threads) {
                    runs.add(measure(base, streamed, spec, layout, seed, batch, t, steps, warmup, recompute));
                    System.gc();
                }
            } finally {
                if (streamed != null) streamed.close();
            }
            out.put("runs", runs);
            rss.sample();
            out.put("peak_rss_mb", ProcStatus.mb("VmHWM"));
            out.put("peak_anon_rss_mb", rss.peakAnonMb());
            out.put("max_heap_mb", Runtime.getRuntime().maxMemory() >> 20);
            return out;
        }
    }

    private static Map<String, Object> measure(
            FrozenBase base,
            StreamedBase streamed,
            LoraSpec spec,
            AdapterLayout layout,
            long seed,
            Batch batch,
            int threads,
            int steps,
            int warmup,
            boolean recompute) {
        VectorKernels kern = new VectorKernels(threads);
        log("threads=" + threads + ": kernel warm-up " + KernelProvider.warmUp(kern) + " ms");
        LoraLlama model = new LoraLlama(base, spec, kern, recompute);
        float[] p = peftInit(layout, seed); // made per thread count: no second copy of a 70B adapter
        int n = p.length;
        float[] g = new float[n];
        float[] m = new float[n];
        float[] v = new float[n];
        double[] stepS = new double[steps];
        double[] cpuS = new double[steps];
        List<Map<String, Object>> io = new ArrayList<>();
        double firstLoss = Double.NaN;
        double lastLoss = Double.NaN;
        for (int s = 0; s < warmup + steps; s++) {
            LayerRing.Stats r0 =
                    streamed == null ? null : streamed.layerSource().stats();
            long e0 = streamed == null ? 0 : streamed.embeddingBytesRead();
            long d0 = ProcStatus.ioBytes("read_bytes");
            long c0 = processCpuNanos();
            long t0 = System.nanoTime();
            Arrays.fill(g, 0f);
            LossSum loss = model.forwardBackward(p, g, batch, s);
            float scale = 1f / loss.tokens(); // d(mean loss), as torch's mean cross-entropy
            for (int i = 0; i < n; i++) g[i] *= scale;
            ADAMW.update(p, g, m, v, s + 1, LR); // the engine's AdamW, as training uses it
            double dt = 1e-9 * (System.nanoTime() - t0);
            double cpu = 1e-9 * (processCpuNanos() - c0);
            if (s == 0) firstLoss = loss.mean();
            lastLoss = loss.mean();
            if (!Double.isFinite(lastLoss)) throw new IllegalStateException("non-finite loss at step " + s);
            String ioLine = "";
            if (streamed != null) {
                Map<String, Object> st = ioStats(streamed.layerSource().stats().minus(r0), dt);
                st.put("embedding_read_mb", round((streamed.embeddingBytesRead() - e0) / 1e6));
                long d1 = ProcStatus.ioBytes("read_bytes");
                st.put("disk_read_gb", d0 < 0 || d1 < 0 ? null : round((d1 - d0) / 1e9));
                if (s >= warmup) io.add(st);
                ioLine = ", read " + st.get("read_gb") + " GB in " + st.get("read_s") + " s ("
                        + st.get("read_gb_per_s") + " GB/s; from the device " + st.get("disk_read_gb") + " GB), waited "
                        + st.get("wait_s") + " s: " + st.get("io_hidden_pct") + "% of the reading hidden";
            }
            log(String.format(
                    "threads=%d step %d%s: %.2f s (cpu %.2f s), loss %.4f%s",
                    threads, s, s < warmup ? " (warm-up)" : "", dt, cpu, lastLoss, ioLine));
            if (s >= warmup) {
                stepS[s - warmup] = dt;
                cpuS[s - warmup] = cpu;
            }
        }
        double med = median(stepS);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("threads", threads);
        r.put("kernels", kern.name());
        r.put("step_s", Arrays.stream(stepS).map(TrainStepBench::round).boxed().toList());
        r.put("median_step_s", round(med));
        r.put("median_cpu_s", round(median(cpuS)));
        r.put("tok_s", round((double) batch.batchSize() * batch.seqLen() / med));
        r.put("loss_first", round(firstLoss));
        r.put("loss_last", round(lastLoss));
        if (streamed != null) r.put("io", io);
        return r;
    }

    /** {@code passes} passes over the layers in a training step's order, nothing computed: the reading alone. */
    private static Map<String, Object> readOnly(StreamedBase base, int passes, int warmup) {
        LayerRing ring = base.layerSource();
        int L = ring.numLayers();
        List<Map<String, Object>> io = new ArrayList<>();
        double[] stepS = new double[passes - warmup];
        for (int s = 0; s < passes; s++) {
            LayerRing.Stats r0 = ring.stats();
            long d0 = ProcStatus.ioBytes("read_bytes");
            long t0 = System.nanoTime();
            int[] order = LayerSource.trainingOrder(L);
            try (LayerSource.Pass pass = ring.open(order)) {
                for (int l : order) {
                    pass.acquire(l);
                    pass.release(l);
                }
            }
            double dt = 1e-9 * (System.nanoTime() - t0);
            Map<String, Object> st = ioStats(ring.stats().minus(r0), dt);
            long d1 = ProcStatus.ioBytes("read_bytes");
            st.put("disk_read_gb", d0 < 0 || d1 < 0 ? null : round((d1 - d0) / 1e9));
            log("read-only pass " + s + (s < warmup ? " (warm-up)" : "") + ": " + round(dt) + " s, " + st);
            if (s >= warmup) {
                io.add(st);
                stepS[s - warmup] = dt;
            }
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("threads", 0);
        r.put("step_s", Arrays.stream(stepS).map(TrainStepBench::round).boxed().toList());
        r.put("median_step_s", round(median(stepS)));
        r.put("io", io);
        return r;
    }

    /**
     * One step's reading: bytes and layers read, the prefetcher's time in reads and its throughput, the compute
     * thread's time waiting for a layer, and the share of the reading time that compute hid.
     */
    static Map<String, Object> ioStats(LayerRing.Stats d, double stepS) {
        Map<String, Object> st = new LinkedHashMap<>();
        double readS = 1e-9 * d.readNanos();
        double waitS = 1e-9 * d.waitNanos();
        st.put("layers_read", d.layersRead());
        st.put("layers_reused", d.layersReused());
        st.put("read_gb", round(d.bytesRead() / 1e9));
        st.put("read_s", round(readS));
        st.put("read_gb_per_s", readS > 0 ? round(d.bytesRead() / 1e9 / readS) : null);
        st.put("wait_s", round(waitS));
        st.put("io_hidden_pct", readS > 0 ? Math.round(1000 * Math.max(0, 1 - waitS / readS)) / 10.0 : null);
        st.put("wait_pct_of_step", Math.round(1000 * waitS / stepS) / 10.0);
        return st;
    }

    /** CPU time of this whole process (all threads, GC included), in ns. */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** PEFT's default init: A ~ kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), B = 0. */
    public static float[] peftInit(AdapterLayout layout, long seed) {
        float[] p = new float[layout.size()];
        SplittableRandom rnd = new SplittableRandom(seed ^ 0x5eedL);
        for (AdapterLayout.Tensor t : layout.tensors()) {
            if (!t.isA()) continue;
            double bound = 1.0 / Math.sqrt(t.cols());
            for (int i = 0; i < t.size(); i++) p[t.offset() + i] = (float) (bound * (2 * rnd.nextDouble() - 1));
        }
        return p;
    }

    public static Batch randomBatch(int vocab, int T, long seed) {
        int[] ids = new SplittableRandom(seed + 1).ints(T, 0, vocab).toArray();
        return new Batch(new int[][] {ids}, new int[][] {ids.clone()}, null);
    }

    public static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    public static double round(double x) {
        return Math.round(x * 1000) / 1000.0;
    }

    private static void log(String line) {
        System.err.println("[bench-train child] " + line);
    }
}
