package io.lakelora.jobs.runtime;

import io.lakelora.train.TrainableModel;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Function;

/**
 * The JVM-wide cache on an executor: one frozen base per model key (loaded once, shared by all tasks), and a pool of
 * per-task models over it (a task borrows one, so concurrent tasks never share activation buffers). A failed load is
 * not cached, so a retried task tries again.
 */
public final class ExecutorModelCache {
    private static final Map<String, Object> BASES = new ConcurrentHashMap<>();
    private static final Map<String, Queue<TrainableModel>> POOLS = new ConcurrentHashMap<>();
    /** cacheGroup -> the key currently loaded for it. */
    private static final Map<String, String> GROUPS = new ConcurrentHashMap<>();

    private ExecutorModelCache() {}

    /** Runs {@code work} with a model borrowed from the pool of {@code factory}'s base. */
    public static <R> R withModel(ModelFactory factory, String[] deviceAddresses, Function<TrainableModel, R> work) {
        String key = factory.cacheKey();
        Object base = base(factory, deviceAddresses);
        Queue<TrainableModel> pool = POOLS.computeIfAbsent(key, k -> new ConcurrentLinkedQueue<>());
        TrainableModel m = pool.poll();
        if (m == null) m = factory.newModel(base);
        try {
            return work.apply(m);
        } finally {
            pool.offer(m);
        }
    }

    /**
     * The frozen base of {@code factory}, loaded on first use in this JVM (driver or executor) and kept. Loading a new
     * key of a group (the model files changed under the same URI) drops the group's older bases and their pools, so a
     * replaced base is never served stale and the old one is freed once running tasks let go of it.
     */
    public static Object base(ModelFactory factory, String[] deviceAddresses) {
        String key = factory.cacheKey();
        Object base = BASES.computeIfAbsent(key, k -> {
            long t0 = System.nanoTime();
            Object b = factory.loadBase(deviceAddresses);
            System.err.printf(
                    "[lakelora] loaded base %s in pid %d (%.1f s)%n",
                    k, ProcessHandle.current().pid(), (System.nanoTime() - t0) / 1e9);
            return b;
        });
        String old = GROUPS.put(factory.cacheGroup(), key);
        if (old != null && !old.equals(key)) {
            BASES.remove(old);
            POOLS.remove(old);
        }
        return base;
    }

    /** Number of bases held (tests and diagnostics). */
    public static int bases() {
        return BASES.size();
    }

    /** Drops everything (tests; executors normally keep bases for their lifetime). */
    public static void clear() {
        BASES.clear();
        POOLS.clear();
        GROUPS.clear();
    }
}
