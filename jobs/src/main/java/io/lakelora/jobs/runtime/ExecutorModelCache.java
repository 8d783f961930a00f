package io.lakelora.jobs.runtime;

import io.lakelora.train.TrainableModel;
import java.util.Arrays;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Function;

/**
 * The JVM-wide cache on an executor: one frozen base per model key and device (loaded once, shared by all tasks on that
 * device), and pools of per-task models over each base, one per kind of model ({@link ModelFactory#modelKey}: a task
 * borrows one, so concurrent tasks never share activation buffers, and a model built for another LoRA config is never
 * reused). The device comes from the task's accelerator addresses ({@link #device}): "cpu" when Spark assigned none,
 * "gpu:0" for GPU 0. A failed load is not cached, so a retried task tries again.
 */
public final class ExecutorModelCache {
    /** A base's place in the cache: the factory's {@link ModelFactory#cacheKey} on one device. */
    private record Key(String cacheKey, String device) {}

    /**
     * One base, loaded at most once: the map only holds slots, and the load runs under the slot's own lock, so loads
     * of other keys or devices (one GPU each) run side by side and never block the map.
     */
    private static final class Slot {
        private Object base;

        synchronized Object get(ModelFactory<?> factory, String[] deviceAddresses, Key key) {
            if (base == null) {
                long t0 = System.nanoTime();
                Object b = factory.loadBase(deviceAddresses);
                if (b == null)
                    throw new IllegalStateException(factory.getClass().getName() + " loaded a null base");
                System.err.printf(
                        "[lakelora] loaded base %s in pid %d (%.1f s) on %s%n",
                        key.cacheKey(), ProcessHandle.current().pid(), (System.nanoTime() - t0) / 1e9, key.device());
                base = b;
            }
            return base;
        }
    }

    private static final Map<Key, Slot> BASES = new ConcurrentHashMap<>();
    /** A pool of per-task models: one base (key and device) and one kind of model over it. */
    private record PoolKey(Key base, String modelKey) {}

    private static final Map<PoolKey, Queue<TrainableModel>> POOLS = new ConcurrentHashMap<>();
    /** cacheGroup -> the key currently loaded for it (on any device). */
    private static final Map<String, String> GROUPS = new ConcurrentHashMap<>();

    private ExecutorModelCache() {}

    /**
     * The device a task's accelerator addresses name: "cpu" for none, "gpu:0" for GPU 0, "gpu:0,1" for a task given
     * two (sorted, so the order Spark lists them in does not matter).
     */
    public static String device(String[] deviceAddresses) {
        if (deviceAddresses == null || deviceAddresses.length == 0) return "cpu";
        String[] a = deviceAddresses.clone();
        Arrays.sort(a);
        return "gpu:" + String.join(",", a);
    }

    /** Runs {@code work} with a model borrowed from the pool of {@code factory}'s base on the task's device. */
    public static <B, R> R withModel(
            ModelFactory<B> factory, String[] deviceAddresses, Function<TrainableModel, R> work) {
        B base = base(factory, deviceAddresses);
        Key key = new Key(factory.cacheKey(), device(deviceAddresses));
        Queue<TrainableModel> pool =
                POOLS.computeIfAbsent(new PoolKey(key, factory.modelKey()), k -> new ConcurrentLinkedQueue<>());
        TrainableModel m = pool.poll();
        if (m == null) m = factory.newModel(base);
        try {
            return work.apply(m);
        } finally {
            pool.offer(m);
        }
    }

    /**
     * The frozen base of {@code factory} on the device {@code deviceAddresses} name, loaded on first use in this JVM
     * (driver or executor) and kept. Loading a new key of a group (the model files changed under the same URI) drops
     * the group's older bases on every device, and their pools, so a replaced base is never served stale and the old
     * one is freed once running tasks let go of it.
     */
    @SuppressWarnings("unchecked") // a key names one base of one type (ModelFactory#cacheKey)
    public static <B> B base(ModelFactory<B> factory, String[] deviceAddresses) {
        Key key = new Key(factory.cacheKey(), device(deviceAddresses));
        Slot slot = BASES.computeIfAbsent(key, k -> new Slot());
        B base;
        try {
            base = (B) slot.get(factory, deviceAddresses, key);
        } catch (RuntimeException | Error e) {
            BASES.remove(key, slot); // not cached: the next task (a retry) loads again
            throw e;
        }
        String old = GROUPS.put(factory.cacheGroup(), key.cacheKey());
        if (old != null && !old.equals(key.cacheKey())) {
            BASES.keySet().removeIf(k -> k.cacheKey().equals(old));
            POOLS.keySet().removeIf(k -> k.base().cacheKey().equals(old));
        }
        return base;
    }

    /** Number of bases held, over all keys and devices (tests and diagnostics). */
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
