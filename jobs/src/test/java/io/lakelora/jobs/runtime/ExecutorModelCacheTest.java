package io.lakelora.jobs.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.lora.TargetModule;
import io.lakelora.train.TrainableModel;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A base replaced in place under the same URI must not be served stale from the JVM-wide executor cache. */
class ExecutorModelCacheTest {

    @BeforeEach
    @AfterEach
    void clear() {
        ExecutorModelCache.clear();
    } // the cache is JVM-wide: other test classes may have loaded bases

    /** A factory whose base is its key; counts loads. */
    private record Versioned(String group, String version, AtomicInteger loads) implements ModelFactory {
        @Override
        public String cacheKey() {
            return group + "|" + version;
        }

        @Override
        public String cacheGroup() {
            return group;
        }

        @Override
        public Object loadBase(String[] deviceAddresses) {
            loads.incrementAndGet();
            return "base " + cacheKey();
        }

        @Override
        public TrainableModel newModel(Object base) {
            throw new UnsupportedOperationException();
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
        assertTrue(a.cacheKey().startsWith(uri + "|nf4|"), a.cacheKey());

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
        return new LoraLlamaFactory(uri, "nf4", 4, 8, false, 0, EnumSet.of(TargetModule.Q), 1, false);
    }
}
