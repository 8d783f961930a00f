package io.lakelora.jobs.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.train.Batch;
import io.lakelora.train.LossSum;
import io.lakelora.train.TrainableModel;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The JVM-wide executor cache: one base per key and device, loaded once; a base replaced in place under the same URI is
 * never served stale.
 */
class ExecutorModelCacheTest {

    @BeforeEach
    @AfterEach
    void clear() {
        ExecutorModelCache.clear();
    } // the cache is JVM-wide: other test classes may have loaded bases

    /** A factory whose base is its key; counts loads. */
    private record Versioned(String group, String version, AtomicInteger loads) implements ModelFactory<String> {
        @Override
        public String cacheKey() {
            return group + "|" + version;
        }

        @Override
        public String cacheGroup() {
            return group;
        }

        @Override
        public String loadBase(String[] deviceAddresses) {
            loads.incrementAndGet();
            return "base " + cacheKey();
        }

        @Override
        public TrainableModel newModel(String base) {
            throw new UnsupportedOperationException();
        }
    }

    /** A loaded base that remembers the device it was loaded for. */
    private record Base(String key, String device) {}

    /**
     * A factory of {@link Base}s that counts loads, runs {@code onLoad} inside each load, and records the bases its
     * models are built over.
     */
    private record PerDevice(String key, AtomicInteger loads, Runnable onLoad, List<Base> modelBases)
            implements ModelFactory<Base> {
        PerDevice(String key) {
            this(key, new AtomicInteger(), () -> {}, new CopyOnWriteArrayList<>());
        }

        @Override
        public String cacheKey() {
            return key;
        }

        @Override
        public Base loadBase(String[] deviceAddresses) {
            loads.incrementAndGet();
            onLoad.run();
            return new Base(key, ExecutorModelCache.device(deviceAddresses));
        }

        @Override
        public TrainableModel newModel(Base base) {
            modelBases.add(base);
            return new TrainableModel() {
                @Override
                public AdapterLayout layout() {
                    return ToyModelFactory.LAYOUT;
                }

                @Override
                public LossSum forwardBackward(float[] p, float[] g, Batch batch, long seed) {
                    throw new UnsupportedOperationException();
                }

                @Override
                public LossSum evaluate(float[] p, Batch batch) {
                    throw new UnsupportedOperationException();
                }
            };
        }
    }

    private static final String[] CPU = new String[0];
    private static final String[] GPU0 = {"0"};
    private static final String[] GPU1 = {"1"};

    @Test
    void theDeviceIsNamedByTheTasksGpuAddresses() {
        assertEquals("cpu", ExecutorModelCache.device(CPU));
        assertEquals("cpu", ExecutorModelCache.device(null));
        assertEquals("gpu:0", ExecutorModelCache.device(GPU0));
        assertEquals("gpu:0,1", ExecutorModelCache.device(new String[] {"1", "0"}), "sorted");
    }

    @Test
    void theSameKeyOnTwoDevicesLoadsTwiceAndGivesDistinctBases() {
        PerDevice f = new PerDevice("k");
        Base onCpu = ExecutorModelCache.base(f, CPU);
        Base on0 = ExecutorModelCache.base(f, GPU0);
        Base on1 = ExecutorModelCache.base(f, GPU1);
        assertEquals(3, f.loads().get(), "one load per device");
        assertEquals(new Base("k", "cpu"), onCpu);
        assertEquals(new Base("k", "gpu:0"), on0);
        assertEquals(new Base("k", "gpu:1"), on1);
        assertSame(on0, ExecutorModelCache.base(f, new String[] {"0"}), "same key and device: the cached base");
        assertSame(onCpu, ExecutorModelCache.base(f, CPU));
        assertEquals(3, f.loads().get());
        assertEquals(3, ExecutorModelCache.bases());

        // each device's models are built over that device's base
        ExecutorModelCache.withModel(f, GPU0, m -> null);
        ExecutorModelCache.withModel(f, GPU1, m -> null);
        ExecutorModelCache.withModel(f, GPU0, m -> null); // reuses the pooled model of gpu:0
        assertEquals(List.of(on0, on1), f.modelBases());
        assertEquals(3, f.loads().get());
    }

    @Test
    void concurrentTasksOnOneDeviceLoadOnce() throws Exception {
        AtomicInteger loads = new AtomicInteger();
        PerDevice f = new PerDevice("k", loads, () -> sleep(50), new CopyOnWriteArrayList<>());
        int n = 8;
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            CyclicBarrier start = new CyclicBarrier(n);
            List<Future<Base>> got = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                got.add(pool.submit(() -> {
                    start.await(10, TimeUnit.SECONDS);
                    return ExecutorModelCache.base(f, GPU0);
                }));
            }
            Base first = got.get(0).get(10, TimeUnit.SECONDS);
            for (Future<Base> g : got) assertSame(first, g.get(10, TimeUnit.SECONDS));
            assertEquals(1, loads.get());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void twoDevicesLoadSideBySide() throws Exception {
        // each load waits for the other to start: a cache that serialised the loads would time out here
        CyclicBarrier both = new CyclicBarrier(2);
        Runnable meet = () -> {
            try {
                both.await(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException("the other device's load did not run alongside", e);
            }
        };
        PerDevice f = new PerDevice("k", new AtomicInteger(), meet, new CopyOnWriteArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<Base> a = pool.submit(() -> ExecutorModelCache.base(f, GPU0));
            Future<Base> b = pool.submit(() -> ExecutorModelCache.base(f, GPU1));
            assertEquals("gpu:0", a.get(20, TimeUnit.SECONDS).device());
            assertEquals("gpu:1", b.get(20, TimeUnit.SECONDS).device());
            assertNotSame(a.get(), b.get());
            assertEquals(2, f.loads().get());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aFailedLoadIsNotCached() {
        AtomicInteger loads = new AtomicInteger();
        PerDevice f = new PerDevice(
                "k",
                loads,
                () -> {
                    if (loads.get() == 1) throw new IllegalStateException("disk full");
                },
                new CopyOnWriteArrayList<>());
        assertThrows(IllegalStateException.class, () -> ExecutorModelCache.base(f, GPU0));
        assertEquals(0, ExecutorModelCache.bases());
        assertEquals(new Base("k", "gpu:0"), ExecutorModelCache.base(f, GPU0), "the retry loads again");
        assertEquals(2, loads.get());
    }

    @Test
    void aNewVersionDropsTheOldBaseOnEveryDevice() {
        AtomicInteger loads = new AtomicInteger();
        Versioned v1 = new Versioned("s3a://lake/models/llama|nf4", "fp1", loads);
        Versioned v2 = new Versioned("s3a://lake/models/llama|nf4", "fp2", loads);
        ExecutorModelCache.base(v1, CPU);
        ExecutorModelCache.base(v1, GPU0);
        assertEquals(2, ExecutorModelCache.bases());
        ExecutorModelCache.base(v2, CPU);
        assertEquals(1, ExecutorModelCache.bases(), "v1 dropped on cpu and gpu:0");
        ExecutorModelCache.base(v2, GPU0);
        assertEquals(2, ExecutorModelCache.bases());
        assertEquals(4, loads.get());
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aNewVersionOfAGroupReplacesTheOldBaseAndOtherGroupsStay() {
        AtomicInteger loads = new AtomicInteger();
        Versioned v1 = new Versioned("s3a://lake/models/llama|nf4", "fp1", loads);
        Versioned v2 = new Versioned("s3a://lake/models/llama|nf4", "fp2", loads);
        Versioned other = new Versioned("s3a://lake/models/qwen|nf4", "fp1", loads);
        assertEquals("base " + v1.cacheKey(), ExecutorModelCache.base(v1, new String[0]));
        assertEquals("base " + v1.cacheKey(), ExecutorModelCache.base(v1, new String[0]));
        assertEquals(1, loads.get(), "same key: loaded once");
        assertEquals("base " + other.cacheKey(), ExecutorModelCache.base(other, new String[0]));
        assertEquals(2, ExecutorModelCache.bases());
        // the files changed under the same URI: a new key of the same group
        assertEquals("base " + v2.cacheKey(), ExecutorModelCache.base(v2, new String[0]));
        assertEquals(3, loads.get());
        assertEquals(2, ExecutorModelCache.bases(), "the old version of the group was dropped, the other group kept");
        assertEquals("base " + other.cacheKey(), ExecutorModelCache.base(other, new String[0]));
        assertEquals(3, loads.get());
    }

    /**
     * Two LoRA configs on one base (job 03 at one rank, then job 05 scoring an adapter of another, on one long-lived
     * executor): one base load, and each config gets a model of its own layout, never the other's from the pool.
     */
    @Test
    void anotherLoraConfigOnTheSameBaseGetsItsOwnModel() {
        String uri =
                io.lakelora.util.Assets.require("models/stories260K-hf").toUri().toString();
        LoraLlamaFactory r4 = llama(uri, 4, 8.0);
        LoraLlamaFactory r8 = llama(uri, 8, 16.0);
        LoraLlamaFactory r8alpha = llama(uri, 8, 32.0);
        assertEquals(r4.cacheKey(), r8.cacheKey(), "one base");
        int[] sizes = new int[3];
        String[] keys = new String[3];
        LoraLlamaFactory[] fs = {r4, r8, r8alpha};
        for (int i = 0; i < 3; i++) {
            final int j = i;
            ExecutorModelCache.withModel(fs[i], new String[0], m -> {
                sizes[j] = m.layout().size();
                keys[j] = fs[j].modelKey();
                return null;
            });
        }
        assertEquals(1, ExecutorModelCache.bases());
        assertEquals(2 * sizes[0], sizes[1], "r=8 has twice the adapter of r=4");
        assertEquals(sizes[1], sizes[2]);
        assertNotEquals(keys[1], keys[2], "same rank, other scaling: another model");
        // and back to r=4: its own pooled model, not the last one used
        ExecutorModelCache.withModel(r4, new String[0], m -> {
            assertEquals(sizes[0], m.layout().size());
            return null;
        });
    }

    private static LoraLlamaFactory llama(String uri, int r, double alpha) {
        return new LoraLlamaFactory(
                uri,
                new io.lakelora.model.LoraModelBuilder.Spec(
                        io.lakelora.quant.QuantType.NF4,
                        true,
                        io.lakelora.lora.LoraConfig.of(r, alpha, java.util.List.of("q_proj", "v_proj")),
                        1,
                        false));
    }

    @Test
    void theLlamaFactoryKeyFollowsTheModelFiles(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), "{}");
        Files.write(dir.resolve("model.safetensors"), new byte[100]);
        String uri = dir.toUri().toString();
        LoraLlamaFactory a = factory(uri);
        assertEquals(a.cacheKey(), factory(uri).cacheKey(), "unchanged files: the same key");
        Files.write(dir.resolve("model.safetensors"), new byte[101]); // the base replaced in place
        LoraLlamaFactory b = factory(uri);
        assertNotEquals(a.cacheKey(), b.cacheKey());
        assertEquals(a.cacheGroup(), b.cacheGroup());
        assertTrue(a.cacheKey().startsWith(uri + "|nf4+dq|"), a.cacheKey());

        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> factory(uri + "missing"));
        assertTrue(e.getMessage().contains("missing") && e.getMessage().contains("Fix:"), e.getMessage());
    }

    @Test
    void fingerprintChangesWithAFileAndIgnoresSubdirectories(@TempDir Path dir) throws Exception {
        LakeFs fs = new LakeFs(new Configuration());
        Files.writeString(dir.resolve("tokenizer.json"), "{\"a\":1}");
        String uri = dir.toUri().toString();
        String f0 = fs.fingerprint(uri);
        assertEquals(64, f0.length());
        assertEquals(f0, fs.fingerprint(uri));
        Files.createDirectory(dir.resolve("checkpoints"));
        assertEquals(f0, fs.fingerprint(uri), "a subdirectory is not part of the model's files");
        Files.writeString(dir.resolve("extra.json"), "{}");
        assertNotEquals(f0, fs.fingerprint(uri));
    }

    private static LoraLlamaFactory factory(String uri) {
        return new LoraLlamaFactory(
                uri,
                new io.lakelora.model.LoraModelBuilder.Spec(
                        io.lakelora.quant.QuantType.NF4,
                        true,
                        io.lakelora.lora.LoraConfig.of(4, 8.0, java.util.List.of("q_proj")),
                        1,
                        false));
    }
}
