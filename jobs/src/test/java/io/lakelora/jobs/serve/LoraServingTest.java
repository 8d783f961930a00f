package io.lakelora.jobs.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.LlamaSession;
import io.lakelora.model.LlamaWeights;
import io.lakelora.safetensors.DType;
import io.lakelora.safetensors.SafetensorsFile;
import io.lakelora.safetensors.SafetensorsWriter;
import io.lakelora.safetensors.TensorInfo;
import io.lakelora.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Serving freshness: the serving cache is keyed by the model directory's file fingerprint ({@link LakeFs#fingerprint}),
 * so a base rewritten in place under the same URI is loaded again (and served: the scores are the rewritten model's),
 * while an unchanged base is not.
 */
class LoraServingTest {
    static final String TEXT = "Once upon a time, there was a little dog named Max.";

    @TempDir
    Path tmp;

    String recheckBefore;

    @BeforeEach
    void setUp() {
        recheckBefore = System.getProperty(LoraServing.RECHECK_PROPERTY);
        LoraServing.clear();
    }

    @AfterEach
    void tearDown() {
        if (recheckBefore == null) System.clearProperty(LoraServing.RECHECK_PROPERTY);
        else System.setProperty(LoraServing.RECHECK_PROPERTY, recheckBefore);
        LoraServing.clear();
    }

    /** A copy of stories260K that this test may rewrite. */
    Path modelCopy() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("model"));
        try (var files = Files.list(ServeFixtures.model())) {
            for (Path f : files.toList()) Files.copy(f, dir.resolve(f.getFileName()));
        }
        return dir;
    }

    /** Rewrites model.safetensors at the same path (atomic rename, as job 00 does) with every weight times 0.5. */
    static void rewriteHalved(Path dir) {
        Path file = dir.resolve("model.safetensors");
        Map<String, float[]> data = new TreeMap<>();
        Map<String, long[]> shapes = new TreeMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (Map.Entry<String, TensorInfo> e : f.tensors().entrySet()) {
                float[] x = f.readFloats(e.getKey());
                for (int i = 0; i < x.length; i++) x[i] *= 0.5f;
                data.put(e.getKey(), x);
                shapes.put(e.getKey(), e.getValue().shape());
            }
        }
        SafetensorsWriter w = new SafetensorsWriter(file).metadata("format", "pt");
        data.forEach((k, v) -> w.add(k, DType.F32, shapes.get(k), v));
        w.write();
    }

    /** The engine directly on the files in {@code dir}: mean NLL of TEXT. */
    static double engineScore(Path dir) {
        LlamaWeights w = LlamaLoader.load(dir, null);
        try (Tokenizer tok = Tokenizer.load(dir)) {
            int[] ids = tok.encode(TEXT, true);
            double[] s = new LlamaSession(w, KernelProvider.withThreads(1), null, ids.length, 256).score(ids);
            return s[0] / s[1];
        }
    }

    @Test
    void aBaseRewrittenInPlaceIsReloadedAndAnUnchangedOneIsNot() throws Exception {
        System.setProperty(LoraServing.RECHECK_PROPERTY, "0"); // read the fingerprint on every call
        Path dir = modelCopy();
        ServeTarget t = new ServeTarget(dir.toUri().toString(), "none", null, 1);
        LlamaWeights first = LoraServing.base(t);
        double before = LoraServing.score(t, TEXT);
        assertEquals(engineScore(dir), before, 1e-9 * Math.abs(before));

        assertSame(first, LoraServing.base(t), "unchanged files: the cached base is served, not reloaded");
        assertEquals(before, LoraServing.score(t, TEXT), 0);

        LakeFs fs = new LakeFs(new Configuration());
        String fpBefore = fs.fingerprint(t.modelUri());
        rewriteHalved(dir);
        assertNotEquals(fpBefore, fs.fingerprint(t.modelUri()), "the rewrite changed name/length/mtime listing");

        LlamaWeights second = LoraServing.base(t);
        assertNotSame(first, second, "rewritten files under the same URI: the base is loaded again");
        double after = LoraServing.score(t, TEXT);
        double expected = engineScore(dir);
        System.out.printf(
                "score before rewrite %.6f, after %.6f (engine on the new files %.6f)%n", before, after, expected);
        assertNotEquals(before, after, 1e-3, "halved weights score differently");
        assertEquals(expected, after, 1e-9 * Math.abs(expected), "the new files are served");
        assertEquals(1, LoraServing.bases(), "the stale base was dropped");
        assertSame(second, LoraServing.base(t), "and the new one is kept");
    }

    @Test
    void withinTheRecheckIntervalTheFingerprintIsNotReadAgain() throws Exception {
        System.setProperty(LoraServing.RECHECK_PROPERTY, "3600000"); // one hour
        Path dir = modelCopy();
        ServeTarget t = new ServeTarget(dir.toUri().toString(), "none", null, 1);
        LlamaWeights first = LoraServing.base(t);
        rewriteHalved(dir);
        assertSame(first, LoraServing.base(t), "the fingerprint read an hour ago still stands");
        System.setProperty(LoraServing.RECHECK_PROPERTY, "0");
        assertNotSame(first, LoraServing.base(t), "once it is read again the new files are loaded");
    }
}
