package io.lakelora.bench;

import io.lakelora.kernel.KernelProvider;
import io.lakelora.kernel.VectorKernels;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.LoraLlama;
import io.lakelora.model.LoraSpec;
import io.lakelora.model.ModelConfig;
import io.lakelora.quant.Quantizer;
import io.lakelora.train.Batch;
import io.lakelora.train.LossSum;
import java.lang.management.ManagementFactory;
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
 * the adapter slab. Reports the median step time, tokens/s (B*T per step) and the process's peak RSS.
 */
public final class TrainStepBench {
    private TrainStepBench() {}

    /** AdamW hyper-parameters of the step (torch.optim.AdamW's defaults except lr). */
    public static final float LR = 1e-4f, BETA1 = 0.9f, BETA2 = 0.999f, EPS = 1e-8f, WEIGHT_DECAY = 0.01f;

    public static final io.lakelora.train.AdamW ADAMW = new io.lakelora.train.AdamW(BETA1, BETA2, EPS, WEIGHT_DECAY);

    public static Map<String, Object> run(
            BenchShape shape, int[] threads, int T, int r, int steps, int warmup, boolean recompute, long seed) {
        ModelConfig a = shape.config();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("config", shape.name());
        log("building " + shape.description() + ", NF4+DQ, layer by layer ...");
        long t0 = System.nanoTime();
        LlamaWeights w = LlamaWeights.random(a, seed, 0.02f, Quantizer.qlora()::quantize);
        out.put("build_s", round(1e-9 * (System.nanoTime() - t0)));
        out.put("weights_mb", Math.round(w.residentBytes() / 1e5) / 10.0);
        out.put("linear_bits_per_param", round(w.linearBitsPerParam()));
        out.put("rss_after_build_mb", ProcStatus.mb("VmRSS"));
        LoraSpec spec = LoraSpec.of(r, 2.0 * r, false, 0.0, EnumSet.allOf(TargetModule.class));
        AdapterLayout layout = spec.layout(a);
        out.put("lora_params", layout.size());
        out.put("recompute", recompute);
        float[] init = peftInit(layout, seed);
        Batch batch = randomBatch(a.vocabSize(), T, seed);
        List<Map<String, Object>> runs = new ArrayList<>();
        for (int t : threads) {
            runs.add(measure(w, spec, init, batch, t, steps, warmup, recompute));
            System.gc();
        }
        out.put("runs", runs);
        out.put("peak_rss_mb", ProcStatus.mb("VmHWM"));
        out.put("max_heap_mb", Runtime.getRuntime().maxMemory() >> 20);
        return out;
    }

    private static Map<String, Object> measure(
            LlamaWeights w,
            LoraSpec spec,
            float[] init,
            Batch batch,
            int threads,
            int steps,
            int warmup,
            boolean recompute) {
        VectorKernels kern = new VectorKernels(threads);
        log("threads=" + threads + ": kernel warm-up " + KernelProvider.warmUp(kern) + " ms");
        LoraLlama model = new LoraLlama(w, spec, kern, recompute);
        int n = init.length;
        float[] p = init.clone();
        float[] g = new float[n];
        float[] m = new float[n];
        float[] v = new float[n];
        double[] stepS = new double[steps];
        double[] cpuS = new double[steps];
        double firstLoss = Double.NaN;
        double lastLoss = Double.NaN;
        for (int s = 0; s < warmup + steps; s++) {
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
            log(String.format(
                    "threads=%d step %d%s: %.2f s (cpu %.2f s), loss %.4f",
                    threads, s, s < warmup ? " (warm-up)" : "", dt, cpu, lastLoss));
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
        return r;
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
