package io.lakelora.jobs.bench;

import io.lakelora.cli.BaseCommand;
import io.lakelora.jobs.cluster.StandaloneCluster;
import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.jobs.runtime.DataParallelStep;
import io.lakelora.jobs.runtime.RandomLlamaFactory;
import io.lakelora.jobs.runtime.TokenBlock;
import io.lakelora.jobs.train.CheckpointStore;
import io.lakelora.jobs.train.SparkTrainer;
import io.lakelora.lora.AdapterState;
import io.lakelora.model.ModelConfig;
import io.lakelora.train.DataOrder;
import io.lakelora.train.LrSchedule;
import io.lakelora.train.OptimizerConfig;
import io.lakelora.train.OptimizerStep;
import io.lakelora.train.StepMetric;
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
 * {@code lakelora bench-spark-train}: data-parallel training throughput and the per-step Spark orchestration overhead,
 * for several worker layouts with the same global batch. On {@code local[2]} (default): 1 vs 2 workers. On a cluster
 * ({@code --master spark://...}, or {@code --standalone}: a real standalone master and worker started here, executors
 * as separate JVMs): 1 vs 2 executor JVMs of 1 core, and 1 executor of 2 cores running 2 tasks vs 1 task with 2
 * kernel threads. Per layout: tokens/s, step time, the slowest and the mean task compute time, and the overhead split
 * into the adapter broadcast, the Spark job around the tasks (scheduling, task launch, fetching the gradient sums,
 * treeReduce) and the driver's optimizer step. Random LLaMA-shaped weights in NF4+DQ, LoRA r on all linears.
 */
@Command(
        name = "bench-spark-train",
        description = "Benchmark: Spark data-parallel QLoRA tokens/s and the per-step "
                + "orchestration overhead for several worker layouts (local[2], a cluster's master, or --standalone).")
public final class BenchSparkTrainCommand extends BaseCommand {
    @Option(names = "--hidden", description = "Model width (default ${DEFAULT-VALUE}).")
    int hidden = 512;

    @Option(names = "--layers", description = "Layers (default ${DEFAULT-VALUE}).")
    int layers = 8;

    @Option(names = "--heads", description = "Attention heads (default ${DEFAULT-VALUE}).")
    int heads = 8;

    @Option(names = "--kv-heads", description = "KV heads (default ${DEFAULT-VALUE}).")
    int kvHeads = 4;

    @Option(names = "--ffn", description = "MLP width (default ${DEFAULT-VALUE}).")
    int ffn = 1408;

    @Option(names = "--vocab", description = "Vocabulary (default ${DEFAULT-VALUE}).")
    int vocab = 4096;

    @Option(names = "--seq", description = "Tokens per block (default ${DEFAULT-VALUE}).")
    int seq = 256;

    @Option(names = "--global-batch", description = "Blocks per step (default ${DEFAULT-VALUE}).")
    int globalBatch = 4;

    @Option(names = "--rank", description = "LoRA rank (default ${DEFAULT-VALUE}).")
    int rank = 16;

    @Option(
            names = "--steps",
            description = "Timed steps per layout, after one warm-up step (default ${DEFAULT-VALUE}).")
    int steps = 4;

    @Option(names = "--workers", split = ",", description = "local[2] only: worker counts (default 1,2).")
    int[] workers = {1, 2};

    @Option(names = "--master", description = "Spark master (default ${DEFAULT-VALUE}); a cluster's runs the layouts.")
    String master = "local[2]";

    @Option(
            names = "--standalone",
            description = "Start a standalone master and one worker of --standalone-cores "
                    + "cores on 127.0.0.1 (from this JVM's classpath) and run the layouts on it.")
    boolean standalone;

    @Option(names = "--standalone-cores", description = "Cores of that worker (default ${DEFAULT-VALUE}).")
    int standaloneCores = 2;

    @Option(names = "--executor-memory", description = "Per executor (default ${DEFAULT-VALUE}).")
    String executorMemory = "3g";

    @Option(
            names = "--layouts",
            split = ",",
            description =
                    "Cluster layouts EXECUTORSxCORES:TASKSxTHREADS (default " + "1x1:1x1,2x1:2x1,1x2:2x1,1x2:1x2).")
    List<String> layouts = List.of("1x1:1x1", "2x1:2x1", "1x2:2x1", "1x2:1x2");

    /** A worker layout: executor JVMs x cores each, Spark tasks (workers) x kernel threads each. */
    record Layout(int executors, int cores, int tasks, int threads) {
        static Layout parse(String s) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)x(\\d+):(\\d+)x(\\d+)")
                    .matcher(s.strip());
            if (!m.matches()) {
                throw new IllegalArgumentException(
                        "--layouts entry '" + s + "': expected EXECUTORSxCORES:TASKSxTHREADS, "
                                + "e.g. 2x1:2x1 (2 executors of 1 core, 2 tasks of 1 thread)");
            }
            Layout l = new Layout(
                    Integer.parseInt(m.group(1)),
                    Integer.parseInt(m.group(2)),
                    Integer.parseInt(m.group(3)),
                    Integer.parseInt(m.group(4)));
            if (l.tasks * l.threads > l.executors * l.cores || l.threads > l.cores) {
                throw new IllegalArgumentException("--layouts entry '" + s + "': " + l.tasks + " tasks of " + l.threads
                        + " threads do not fit " + l.executors + " executors of " + l.cores + " cores");
            }
            return l;
        }

        String name() {
            return executors + " executor" + (executors > 1 ? "s" : "") + " x " + cores + " core"
                    + (cores > 1 ? "s" : "")
                    + ", " + tasks + " task" + (tasks > 1 ? "s" : "") + " x " + threads + " thread"
                    + (threads > 1 ? "s" : "");
        }
    }

    @Override
    protected Map<String, Object> execute() throws Exception {
        ModelConfig mc = ModelConfig.builder(io.lakelora.model.Architecture.LLAMA)
                .vocabSize(vocab)
                .hiddenSize(hidden)
                .intermediateSize(ffn)
                .numLayers(layers)
                .numHeads(heads)
                .numKvHeads(kvHeads)
                .maxPositionEmbeddings(Math.max(seq, 512))
                .build();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put(
                "model",
                String.format(
                        "hidden %d, %d layers, %d heads (%d kv), ffn %d, vocab %d, NF4+DQ, LoRA r=%d " + "all-linear",
                        hidden, layers, heads, kvHeads, ffn, vocab, rank));
        out.put("step", globalBatch + " blocks x " + seq + " tokens = " + globalBatch * seq + " tokens");
        out.put("cpu", cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " CPUs");
        List<Map<String, Object>> rows = new ArrayList<>();
        StandaloneCluster cluster = null;
        try {
            String url = master;
            if (standalone) {
                cluster = StandaloneCluster.start(
                        StandaloneCluster.jarsOfThisJvm(), jvmFlagsOfThisJvm(), 1, standaloneCores, "12g");
                url = cluster.masterUrl();
            }
            out.put("master", url + (standalone ? " (started here: 1 worker of " + standaloneCores + " cores)" : ""));
            boolean local = url.startsWith("local");
            List<Layout> ls = new ArrayList<>();
            if (local) for (int w : workers) ls.add(new Layout(1, w, w, 1));
            else for (String l : layouts) ls.add(Layout.parse(l));
            for (Layout l : ls) rows.add(runLayout(mc, url, local, l));
        } finally {
            if (cluster != null) cluster.close();
        }
        out.put(
                "load_average",
                Files.readString(java.nio.file.Path.of("/proc/loadavg")).strip());
        out.put("results", rows);
        return out;
    }

    private Map<String, Object> runLayout(ModelConfig mc, String url, boolean local, Layout l) throws Exception {
        SparkSession.Builder b = SparkSession.builder()
                .appName("lakelora-bench-spark-train")
                .master(url)
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2");
        if (!local) {
            String flags = String.join(" ", jvmFlagsOfThisJvm());
            b.config("spark.executor.cores", Integer.toString(l.cores()))
                    .config("spark.cores.max", Integer.toString(l.executors() * l.cores()))
                    .config("spark.task.cpus", Integer.toString(l.threads()))
                    .config("spark.executor.memory", executorMemory)
                    .config("spark.executor.extraJavaOptions", flags)
                    .config("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        }
        SparkSession spark = b.getOrCreate();
        try {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            if (!local) awaitExecutors(jsc, l.executors());
            int n = globalBatch * (steps + 1);
            SplittableRandom rnd = new SplittableRandom(7);
            List<TokenBlock> blocks = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int[] ids = new int[seq];
                for (int t = 0; t < seq; t++) ids[t] = rnd.nextInt(vocab);
                blocks.add(new TokenBlock(i, ids, ids.clone(), null));
            }
            JavaRDD<TokenBlock> rdd = jsc.parallelize(blocks, l.tasks());
            RandomLlamaFactory f = new RandomLlamaFactory(mc, 11, true, rank, l.threads());
            AdapterState s = new AdapterState(f.spec().layout(mc));
            OptimizerConfig oc = new OptimizerConfig(1e-4, null, null, 0.0, 1.0);
            List<StepMetric> ms = new ArrayList<>();
            java.nio.file.Path ck = Files.createTempDirectory("bench-ckpt");
            List<DataParallelStep.Timing> timings;
            try (DataParallelStep dp =
                    new DataParallelStep(jsc, rdd, l.tasks(), f, new DataOrder(n, globalBatch, 1), 1, -1)) {
                new SparkTrainer(
                                jsc,
                                dp,
                                null,
                                f,
                                new OptimizerStep(oc, new LrSchedule(LrSchedule.Type.CONSTANT, 1e-4, 0, steps + 1)),
                                new SparkTrainer.Settings("bench-" + l.tasks(), steps + 1, 0, 0, 1, 1, "bench"),
                                new CheckpointStore(
                                        new LakeFs(jsc.hadoopConfiguration()),
                                        ck.toUri().toString(),
                                        1),
                                ms::addAll)
                        .run(s);
                timings = new ArrayList<>(dp.timings());
            }
            List<StepMetric> timed = ms.subList(1, ms.size());
            List<DataParallelStep.Timing> tt = timings.subList(1, timings.size());
            double stepS =
                    median(timed.stream().mapToDouble(StepMetric::stepSeconds).toArray());
            double bcast = median(tt.stream()
                    .mapToDouble(DataParallelStep.Timing::broadcastMillis)
                    .toArray());
            double job = median(
                    tt.stream().mapToDouble(DataParallelStep.Timing::jobMillis).toArray());
            double maxC = median(tt.stream()
                    .mapToDouble(DataParallelStep.Timing::maxComputeMillis)
                    .toArray());
            double meanC = median(tt.stream()
                    .mapToDouble(DataParallelStep.Timing::meanComputeMillis)
                    .toArray());
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("layout", l.name());
            row.put(
                    "tokens_per_second",
                    Math.round(median(timed.stream()
                            .mapToDouble(StepMetric::tokensPerSecond)
                            .toArray())));
            row.put("step_seconds", round3(stepS));
            row.put("task_compute_max_seconds", round3(maxC / 1e3));
            row.put("task_compute_mean_seconds", round3(meanC / 1e3));
            row.put("overhead_ms", Math.round(stepS * 1e3 - maxC));
            row.put("broadcast_ms", Math.round(bcast));
            row.put("job_minus_compute_ms", Math.round(job - maxC));
            row.put("driver_update_ms", Math.round(stepS * 1e3 - job - bcast));
            row.put("overhead_share", round3((stepS * 1e3 - maxC) / (stepS * 1e3)));
            row.put("adapter_bytes", timings.get(0).adapterBytes());
            return row;
        } finally {
            spark.stop();
        }
    }

    /** Waits until {@code n} executors have registered (a standalone worker launches them after the app starts). */
    static void awaitExecutors(JavaSparkContext jsc, int n) {
        long end = System.nanoTime() + 120_000_000_000L;
        while (jsc.sc().statusTracker().getExecutorInfos().length - 1 < n) { // minus the driver
            if (System.nanoTime() > end) {
                throw new IllegalStateException(n + " executors did not register within 120 s. Fix: check that the "
                        + "cluster has " + n + " free executor slots (cores and memory)");
            }
            StandaloneCluster.sleep(200);
        }
    }

    /** This JVM's flags that executors need too (the Vector API, module opens, -XX, -D). */
    static List<String> jvmFlagsOfThisJvm() {
        List<String> out = new ArrayList<>();
        for (String a :
                java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--add-")
                    || a.startsWith("-XX:")
                    || a.startsWith("-Djdk.")
                    || a.startsWith("-Dio.netty")
                    || a.startsWith("-Djava.awt")) {
                out.add(a);
            }
        }
        return out;
    }

    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(java.nio.file.Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name"))
                    return line.substring(line.indexOf(':') + 1).strip();
            }
        } catch (java.io.IOException e) {
            // not Linux
        }
        return System.getProperty("os.arch");
    }

    @Override
    protected void printHuman(Map<String, Object> result, PrintStream out) {
        out.println("model:  " + result.get("model"));
        out.println("step:   " + result.get("step"));
        out.println("master: " + result.get("master") + "   cpu: " + result.get("cpu"));
        out.println("load average after: " + result.get("load_average"));
        out.printf(
                "%-42s %9s %7s %9s %9s %9s %7s %7s %7s %6s%n",
                "layout",
                "tokens/s",
                "step s",
                "task max",
                "task mean",
                "overhead",
                "bcast",
                "job-cmp",
                "driver",
                "share");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> rows = (List<Map<String, Object>>) result.get("results");
        for (Map<String, Object> r : rows) {
            out.printf(
                    "%-42s %9s %7s %9s %9s %9s %7s %7s %7s %6s%n",
                    r.get("layout"),
                    r.get("tokens_per_second"),
                    r.get("step_seconds"),
                    r.get("task_compute_max_seconds"),
                    r.get("task_compute_mean_seconds"),
                    r.get("overhead_ms"),
                    r.get("broadcast_ms"),
                    r.get("job_minus_compute_ms"),
                    r.get("driver_update_ms"),
                    r.get("overhead_share"));
        }
        if (!rows.isEmpty())
            out.println("(overhead, bcast, job-cmp, driver in ms per step; adapter "
                    + rows.get(0).get("adapter_bytes") + " bytes broadcast and reduced per task and step)");
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length == 0
                ? Double.NaN
                : s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static double round3(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
