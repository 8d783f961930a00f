package io.lakelora.jobs.bench;

import io.lakelora.cli.BaseCommand;
import io.lakelora.jobs.common.CommonConfig;
import io.lakelora.jobs.common.SparkSessions;
import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.jobs.train.CheckpointStore;
import io.lakelora.jobs.train.DataOrder;
import io.lakelora.jobs.train.DataParallelStep;
import io.lakelora.jobs.train.RandomLlamaFactory;
import io.lakelora.jobs.train.SparkTrainer;
import io.lakelora.jobs.train.StepMetric;
import io.lakelora.jobs.train.TokenBlock;
import io.lakelora.lora.AdapterState;
import io.lakelora.model.ModelConfig;
import io.lakelora.train.LrSchedule;
import io.lakelora.train.Optimizer;
import io.lakelora.train.OptimizerConfig;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lakelora bench-spark-train}: data-parallel training throughput with 1 vs 2 workers on local[2] (same global
 * batch, one kernel thread per worker), and the per-step Spark orchestration overhead (step wall time minus the
 * slowest worker's compute) beside the compute time. Random LLaMA-shaped weights in NF4+DQ, LoRA r on all linears.
 */
@Command(name = "bench-spark-train", description = "Benchmark: Spark data-parallel QLoRA tokens/s, 1 vs 2 workers on "
        + "local[2], and the per-step orchestration overhead.")
public final class BenchSparkTrainCommand extends BaseCommand {
    @Option(names = "--hidden", description = "Model width (default ${DEFAULT-VALUE}).") int hidden = 512;
    @Option(names = "--layers", description = "Layers (default ${DEFAULT-VALUE}).") int layers = 8;
    @Option(names = "--heads", description = "Attention heads (default ${DEFAULT-VALUE}).") int heads = 8;
    @Option(names = "--kv-heads", description = "KV heads (default ${DEFAULT-VALUE}).") int kvHeads = 4;
    @Option(names = "--ffn", description = "MLP width (default ${DEFAULT-VALUE}).") int ffn = 1408;
    @Option(names = "--vocab", description = "Vocabulary (default ${DEFAULT-VALUE}).") int vocab = 4096;
    @Option(names = "--seq", description = "Tokens per block (default ${DEFAULT-VALUE}).") int seq = 256;
    @Option(names = "--global-batch", description = "Blocks per step (default ${DEFAULT-VALUE}).") int globalBatch = 4;
    @Option(names = "--rank", description = "LoRA rank (default ${DEFAULT-VALUE}).") int rank = 16;
    @Option(names = "--steps", description = "Timed steps per worker count, after one warm-up step (default ${DEFAULT-VALUE}).")
    int steps = 4;
    @Option(names = "--workers", split = ",", description = "Worker counts (default 1,2).") int[] workers = {1, 2};

    @Override
    protected Map<String, Object> execute() throws Exception {
        ModelConfig mc = ModelConfig.builder(io.lakelora.model.Architecture.LLAMA).vocabSize(vocab).hiddenSize(hidden)
                .intermediateSize(ffn).numLayers(layers).numHeads(heads).numKvHeads(kvHeads)
                .maxPositionEmbeddings(Math.max(seq, 512)).build();
        CommonConfig cc = new CommonConfig();
        cc.spark.master = "local[2]";
        cc.spark.shufflePartitions = 2;
        SparkSession spark = SparkSessions.getOrCreate(cc, Map.of("spark.ui.enabled", "false"));
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int n = globalBatch * (steps + 1);
        SplittableRandom rnd = new SplittableRandom(7);
        List<TokenBlock> blocks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] ids = new int[seq];
            for (int t = 0; t < seq; t++) ids[t] = rnd.nextInt(vocab);
            blocks.add(new TokenBlock(i, ids, ids.clone(), null));
        }
        JavaRDD<TokenBlock> rdd = jsc.parallelize(blocks, 2);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("model", String.format("hidden %d, %d layers, %d heads (%d kv), ffn %d, vocab %d, NF4+DQ, LoRA r=%d all-linear",
                hidden, layers, heads, kvHeads, ffn, vocab, rank));
        out.put("step", globalBatch + " blocks x " + seq + " tokens = " + globalBatch * seq + " tokens");
        out.put("load_average", Files.readString(java.nio.file.Path.of("/proc/loadavg")).strip());
        List<Map<String, Object>> rows = new ArrayList<>();
        double base = Double.NaN;
        for (int w : workers) {
            RandomLlamaFactory f = new RandomLlamaFactory(mc, 11, true, rank, 1);
            AdapterState s = new AdapterState(f.spec().layout(mc));
            OptimizerConfig oc = new OptimizerConfig(1e-4, null, null, 0.0, 1.0);
            List<StepMetric> ms = new ArrayList<>();
            java.nio.file.Path ck = Files.createTempDirectory("bench-ckpt");
            try (DataParallelStep dp = new DataParallelStep(jsc, rdd, w, f, new DataOrder(n, globalBatch, 1), 1, -1)) {
                new SparkTrainer(jsc, dp, null, f, new Optimizer(oc, new LrSchedule(LrSchedule.Type.CONSTANT, 1e-4, 0,
                        steps + 1)), new SparkTrainer.Settings("bench-" + w, steps + 1, 0, 0, 1, 1, "bench"),
                        new CheckpointStore(new LakeFs(jsc.hadoopConfiguration()), ck.toUri().toString(), 1),
                        ms::addAll).run(s);
            }
            List<StepMetric> timed = ms.subList(1, ms.size());
            double tps = median(timed.stream().mapToDouble(StepMetric::tokensPerSecond).toArray());
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("workers", w);
            row.put("tokens_per_second", Math.round(tps));
            row.put("step_seconds", round3(median(timed.stream().mapToDouble(StepMetric::stepSeconds).toArray())));
            row.put("compute_seconds", round3(median(timed.stream().mapToDouble(StepMetric::computeSeconds).toArray())));
            row.put("overhead_ms", Math.round(median(timed.stream().mapToDouble(StepMetric::overheadMillis).toArray())));
            if (Double.isNaN(base)) base = tps;
            row.put("speedup_vs_first", round3(tps / base));
            rows.add(row);
        }
        out.put("results", rows);
        spark.stop();
        return out;
    }

    @Override
    protected void printHuman(Map<String, Object> result, PrintStream out) {
        out.println("model: " + result.get("model"));
        out.println("step:  " + result.get("step") + "   (load average " + result.get("load_average") + ")");
        out.printf("%8s %12s %10s %12s %12s %9s%n", "workers", "tokens/s", "step s", "compute s", "overhead ms",
                "speedup");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> rows = (List<Map<String, Object>>) result.get("results");
        for (Map<String, Object> r : rows) {
            out.printf("%8s %12s %10s %12s %12s %9s%n", r.get("workers"), r.get("tokens_per_second"),
                    r.get("step_seconds"), r.get("compute_seconds"), r.get("overhead_ms"), r.get("speedup_vs_first"));
        }
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length == 0 ? Double.NaN : s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static double round3(double v) { return Math.round(v * 1000) / 1000.0; }
}
