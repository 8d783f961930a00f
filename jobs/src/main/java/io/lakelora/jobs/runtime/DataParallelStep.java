package io.lakelora.jobs.runtime;

import io.lakelora.train.Batch;
import io.lakelora.train.DataOrder;
import io.lakelora.train.LossSum;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.resource.ResourceInformation;

/**
 * One data-parallel gradient step on Spark. The small adapter goes to the workers (a broadcast per step); every worker
 * (one Spark partition of the cached training blocks) computes the sum of adapter gradients and the target token count
 * over its share of the step's global batch, in micro-batches; the sums are combined with {@code treeReduce}. The
 * driver then divides by the global token count and applies the optimizer (see {@code train.SparkTrainer}).
 *
 * <p>Blocks are assigned to workers by {@code index % workers}; which blocks form a step is fixed by {@link DataOrder},
 * so 1, 2 or 4 workers sum the same per-block gradients (equal within fp32 rounding).
 */
public final class DataParallelStep implements AutoCloseable {
    private final JavaSparkContext jsc;
    private final JavaRDD<TokenBlock> blocks;
    private final ModelFactory<?> factory;
    private final DataOrder order;
    private final int microBatch;
    private final int workers;
    private final long failTaskAtStep;
    private Broadcast<int[]> ranks;
    private int ranksEpoch = -1;

    /**
     * @param blocks the training blocks (indices 0..N-1), repartitioned here into {@code workers} partitions and cached
     * @param failTaskAtStep fault injection for tests: the first attempt of partition 0's task at this step throws
     *                       (-1 = never); Spark retries it
     */
    public DataParallelStep(
            JavaSparkContext jsc,
            JavaRDD<TokenBlock> blocks,
            int workers,
            ModelFactory<?> factory,
            DataOrder order,
            int microBatch,
            long failTaskAtStep) {
        if (workers <= 0) throw new IllegalArgumentException("train.workers must be > 0, got " + workers);
        if (microBatch <= 0) throw new IllegalArgumentException("train.micro_batch must be > 0, got " + microBatch);
        this.jsc = jsc;
        this.workers = workers;
        this.factory = factory;
        this.order = order;
        this.microBatch = microBatch;
        this.failTaskAtStep = failTaskAtStep;
        this.blocks = blocks.keyBy(TokenBlock::index)
                .partitionBy(new ModPartitioner(workers))
                .values()
                .persist(org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK());
    }

    public int workers() {
        return workers;
    }

    public int globalBatch() {
        return order.globalBatch();
    }

    /**
     * The driver's view of the last {@link #compute} call: creating the adapter's broadcast, and the Spark job that
     * scheduled the tasks, ran them, fetched their gradient sums and combined them ({@code treeReduce}); the
     * adapter's (and every task's gradient sum's) size in bytes.
     */
    public record Timing(
            double broadcastMillis,
            double jobMillis,
            double maxComputeMillis,
            double meanComputeMillis,
            int tasks,
            long adapterBytes)
            implements java.io.Serializable {}

    private final List<Timing> timings = new ArrayList<>();

    /** The timing of every step computed so far, in order (for {@code bench-spark-train}). */
    public List<Timing> timings() {
        return timings;
    }

    /** Computes the gradient sums of {@code step} for adapter {@code params}. */
    public GradSum compute(long step, float[] params, long seed) {
        int epoch = order.epochOf(step);
        if (epoch != ranksEpoch) {
            if (ranks != null) ranks.destroy();
            ranks = jsc.broadcast(order.ranks(epoch));
            ranksEpoch = epoch;
        }
        final Broadcast<int[]> rk = ranks;
        long b0 = System.nanoTime();
        final Broadcast<float[]> p = jsc.broadcast(params);
        long b1 = System.nanoTime();
        final int lo = order.firstRank(step);
        final int hi = lo + order.globalBatch();
        final ModelFactory<?> f = factory;
        final int mb = microBatch;
        final long failAt = failTaskAtStep;
        final int size = params.length;
        try {
            GradSum sum = blocks.mapPartitions((Iterator<TokenBlock> it) -> {
                        TaskContext tc = TaskContext.get();
                        if (failAt == step && tc != null && tc.partitionId() == 0 && tc.attemptNumber() == 0) {
                            throw new IllegalStateException(
                                    "injected task failure at step " + step + " (faults.fail_task_at_step)");
                        }
                        int[] r = rk.value();
                        List<TokenBlock> mine = select(it, r, lo, hi);
                        GradSum g = new GradSum(size);
                        long t0 = System.nanoTime();
                        if (!mine.isEmpty()) {
                            String[] dev = deviceAddresses(tc);
                            ExecutorModelCache.withModel(f, dev, model -> {
                                for (int i = 0; i < mine.size(); i += mb) {
                                    List<TokenBlock> chunk = mine.subList(i, Math.min(mine.size(), i + mb));
                                    long dropoutSeed = DataOrder.dropoutSeed(
                                            seed, step, r[chunk.get(0).index()]);
                                    LossSum ls = model.forwardBackward(p.value(), g.grads, toBatch(chunk), dropoutSeed);
                                    g.lossSum += ls.lossSum();
                                    g.tokens += ls.tokens();
                                    g.blocks += chunk.size();
                                }
                                return null;
                            });
                        }
                        g.maxComputeSeconds = (System.nanoTime() - t0) / 1e9;
                        g.sumComputeSeconds = g.maxComputeSeconds;
                        g.tasks = 1;
                        return List.of(g).iterator();
                    })
                    .treeReduce(GradSum::add, 2);
            timings.add(new Timing(
                    (b1 - b0) / 1e6,
                    (System.nanoTime() - b1) / 1e6,
                    sum.maxComputeSeconds * 1e3,
                    sum.tasks == 0 ? 0 : sum.sumComputeSeconds * 1e3 / sum.tasks,
                    sum.tasks,
                    4L * size));
            return sum;
        } finally {
            p.destroy();
        }
    }

    /** Loss sum and token count of {@code params} over all {@code evalBlocks} (dropout off). */
    public static io.lakelora.train.LossSum evaluate(
            JavaSparkContext jsc,
            JavaRDD<TokenBlock> evalBlocks,
            ModelFactory<?> factory,
            float[] params,
            int microBatch) {
        final Broadcast<float[]> p = jsc.broadcast(params);
        try {
            double[] sum = evalBlocks
                    .mapPartitions((Iterator<TokenBlock> it) -> {
                        List<TokenBlock> mine = new ArrayList<>();
                        it.forEachRemaining(mine::add);
                        mine.sort(Comparator.comparingInt(TokenBlock::index));
                        double[] acc = new double[2];
                        if (!mine.isEmpty()) {
                            ExecutorModelCache.withModel(factory, deviceAddresses(TaskContext.get()), model -> {
                                for (int i = 0; i < mine.size(); i += microBatch) {
                                    LossSum ls = model.evaluate(
                                            p.value(), toBatch(mine.subList(i, Math.min(mine.size(), i + microBatch))));
                                    acc[0] += ls.lossSum();
                                    acc[1] += ls.tokens();
                                }
                                return null;
                            });
                        }
                        return List.of(acc).iterator();
                    })
                    .reduce((a, b) -> new double[] {a[0] + b[0], a[1] + b[1]});
            return new io.lakelora.train.LossSum(sum[0], (long) sum[1]);
        } finally {
            p.destroy();
        }
    }

    /** This worker's blocks whose rank in the epoch's permutation lies in [lo, hi), in rank order. */
    static List<TokenBlock> select(Iterator<TokenBlock> it, int[] rank, int lo, int hi) {
        List<TokenBlock> mine = new ArrayList<>();
        while (it.hasNext()) {
            TokenBlock b = it.next();
            int r = rank[b.index()];
            if (r >= lo && r < hi) mine.add(b);
        }
        mine.sort(Comparator.comparingInt(b -> rank[b.index()]));
        return mine;
    }

    /**
     * The optimizer step as workers rebuild it in local-SGD mode: the {@code optimizer:} section (its {@code type}
     * included) and the run's schedule, passed whole.
     */
    public record OptimizerSpec(io.lakelora.train.OptimizerConfig config, io.lakelora.train.LrSchedule schedule)
            implements java.io.Serializable {
        io.lakelora.train.OptimizerStep build() {
            return new io.lakelora.train.OptimizerStep(config, schedule);
        }
    }

    /**
     * What a worker returns in local-SGD mode: its adapter and its optimizer state's fp32 view
     * ({@link io.lakelora.train.Optimizer#moments}) after its local steps, and its losses.
     */
    public static final class LocalResult implements java.io.Serializable {
        private static final long serialVersionUID = 2L;
        public final float[] params;
        public final float[][] moments;
        public double lossSum;
        public long tokens;
        public int workers;
        public double maxComputeSeconds;

        LocalResult(float[] params, float[][] moments) {
            this.params = params;
            this.moments = moments;
        }

        /** Sums another worker's result into this one (the driver divides by {@code workers}). */
        LocalResult add(LocalResult o) {
            for (int i = 0; i < params.length; i++) params[i] += o.params[i];
            for (int k = 0; k < moments.length; k++) {
                float[] a = moments[k];
                float[] b = o.moments[k];
                for (int i = 0; i < a.length; i++) a[i] += b[i];
            }
            lossSum += o.lossSum;
            tokens += o.tokens;
            workers += o.workers;
            maxComputeSeconds = Math.max(maxComputeSeconds, o.maxComputeSeconds);
            return this;
        }
    }

    /**
     * Local SGD (for slow networks): every worker starts from the same adapter and optimizer state, runs {@code k}
     * optimizer steps on its own share of steps {@code step .. step+k-1} (normalising by its own token count), and the
     * driver averages adapters and the optimizer state's fp32 view element by element, whatever slabs the optimizer
     * declares (for 8-bit states: dequantized, averaged, requantized). One Spark job per k steps instead of per step;
     * equal to synchronous training only for k = 1 with one worker and an fp32 optimizer. {@code optState} is updated
     * in place to the average.
     */
    public LocalResult computeLocal(
            long step, int k, float[] params, io.lakelora.train.OptimizerState optState, OptimizerSpec opt, long seed) {
        int epoch = order.epochOf(step);
        int lastEpoch = order.epochOf(step + k - 1);
        final Broadcast<int[][]> rks =
                jsc.broadcast(new int[][] {order.ranks(epoch), lastEpoch == epoch ? null : order.ranks(lastEpoch)});
        final Broadcast<float[]> bp = jsc.broadcast(params);
        final Broadcast<io.lakelora.train.OptimizerState> bs = jsc.broadcast(optState);
        final DataOrder o = order;
        final ModelFactory<?> f = factory;
        final int mb = microBatch;
        try {
            LocalResult sum = blocks.mapPartitions((Iterator<TokenBlock> it) -> {
                        List<TokenBlock> all = new ArrayList<>();
                        it.forEachRemaining(all::add);
                        long t0 = System.nanoTime();
                        io.lakelora.train.OptimizerStep optimizer = opt.build();
                        String[] dev = deviceAddresses(TaskContext.get());
                        LocalResult res = ExecutorModelCache.withModel(f, dev, model -> {
                            io.lakelora.lora.AdapterState s = new io.lakelora.lora.AdapterState(model.layout());
                            System.arraycopy(bp.value(), 0, s.params(), 0, s.params().length);
                            io.lakelora.train.OptimizerState os = optimizer.newState(s);
                            os.copyFrom(bs.value());
                            s.setStep(step);
                            double lossSum = 0;
                            long tokensAll = 0;
                            for (long t = step; t < step + k; t++) {
                                int[] rank = rks.value()[o.epochOf(t) == epoch ? 0 : 1];
                                int lo = o.firstRank(t);
                                List<TokenBlock> mine = select(all.iterator(), rank, lo, lo + o.globalBatch());
                                long tokens = 0;
                                for (int i = 0; i < mine.size(); i += mb) {
                                    List<TokenBlock> chunk = mine.subList(i, Math.min(mine.size(), i + mb));
                                    LossSum ls = model.forwardBackward(
                                            s.params(),
                                            s.grads(),
                                            toBatch(chunk),
                                            DataOrder.dropoutSeed(
                                                    seed, t, rank[chunk.get(0).index()]));
                                    lossSum += ls.lossSum();
                                    tokens += ls.tokens();
                                }
                                tokensAll += tokens;
                                optimizer.step(s, os, tokens);
                            }
                            LocalResult r = new LocalResult(
                                    s.params().clone(), optimizer.optimizer().moments(os));
                            r.lossSum = lossSum;
                            r.tokens = tokensAll;
                            r.workers = 1;
                            return r;
                        });
                        res.maxComputeSeconds = (System.nanoTime() - t0) / 1e9;
                        return List.of(res).iterator();
                    })
                    .treeReduce(LocalResult::add, 2);
            float inv = 1f / sum.workers;
            for (int i = 0; i < sum.params.length; i++) sum.params[i] *= inv;
            for (float[] slab : sum.moments) {
                for (int i = 0; i < slab.length; i++) slab[i] *= inv;
            }
            opt.config().build().setMoments(optState, sum.moments);
            return sum;
        } finally {
            bp.destroy();
            bs.destroy();
            rks.destroy();
        }
    }

    static Batch toBatch(List<TokenBlock> chunk) {
        int n = chunk.size();
        int[][] ids = new int[n][];
        int[][] labels = new int[n][];
        int[][] pos = new int[n][];
        boolean anyPos = false;
        for (int i = 0; i < n; i++) {
            ids[i] = chunk.get(i).inputIds();
            labels[i] = chunk.get(i).labels();
            pos[i] = chunk.get(i).positionIds();
            anyPos |= pos[i] != null;
        }
        return new Batch(ids, labels, anyPos ? pos : null);
    }

    /** The GPU addresses Spark assigned to this task (spark.task.resource.gpu.amount), or an empty array. */
    static String[] deviceAddresses(TaskContext tc) {
        if (tc == null) return new String[0];
        Map<String, ResourceInformation> res = scala.jdk.javaapi.CollectionConverters.asJava(tc.resources());
        ResourceInformation gpu = res.get("gpu");
        return gpu == null ? new String[0] : gpu.addresses();
    }

    @Override
    public void close() {
        blocks.unpersist(false);
        if (ranks != null) ranks.destroy();
    }

    /** Partition = key mod n (keys are the dense block indices). */
    static final class ModPartitioner extends org.apache.spark.Partitioner {
        private final int n;

        ModPartitioner(int n) {
            this.n = n;
        }

        @Override
        public int numPartitions() {
            return n;
        }

        @Override
        public int getPartition(Object key) {
            return Math.floorMod((Integer) key, n);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ModPartitioner m && m.n == n;
        }

        @Override
        public int hashCode() {
            return n;
        }
    }
}
