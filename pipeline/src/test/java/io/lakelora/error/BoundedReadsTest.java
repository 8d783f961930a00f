package io.lakelora.error;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.lora.LoraConfig;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.ModelConfig;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.tokenizer.Tokenizer;
import io.lakelora.util.Assets;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hostile files: a gzip bomb as tokenizer.json.gz and oversized JSON files fail naming the file and the limit. */
class BoundedReadsTest {
    static final Path MODEL = Assets.require("models/stories260K-hf");

    /** Runs {@code r} with system property {@code key} set to {@code value}, restoring it after. */
    static void withProperty(String key, String value, Runnable r) {
        String old = System.getProperty(key);
        System.setProperty(key, value);
        try {
            r.run();
        } finally {
            if (old == null) System.clearProperty(key);
            else System.setProperty(key, old);
        }
    }

    /** A model directory copy with the given files replaced. */
    static Path copy(Path dir) throws Exception {
        Files.createDirectories(dir);
        try (var files = Files.list(MODEL)) {
            for (Path f : files.toList()) Files.copy(f, dir.resolve(f.getFileName()));
        }
        return dir;
    }

    @Test
    void aGzipBombIsStoppedAtTheCap(@TempDir Path tmp) throws Exception {
        Path dir = copy(tmp.resolve("bomb"));
        Files.delete(dir.resolve("tokenizer.json"));
        Path gz = dir.resolve("tokenizer.json.gz");
        byte[] zeros = new byte[1 << 20];
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
            for (int i = 0; i < 256; i++) out.write(zeros); // 256 MiB of zeros
        }
        long compressed = Files.size(gz);
        System.out.println("gzip bomb: " + compressed + " bytes -> 268435456 bytes");
        assertTrue(compressed < (1 << 20), "a real bomb: under 1 MiB compressed, got " + compressed);
        withProperty(BoundedReads.TOKENIZER_PROPERTY, String.valueOf(16 << 20), () -> {
            BadInputException e = assertThrows(BadInputException.class, () -> Tokenizer.load(dir));
            assertTrue(e.getMessage().contains(gz.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("decompresses to more than 16777216 bytes"), e.getMessage());
            assertTrue(e.getMessage().contains("-D" + BoundedReads.TOKENIZER_PROPERTY), e.getMessage());
        });
    }

    @Test
    void aGenuineGzippedTokenizerStillLoads(@TempDir Path tmp) throws Exception {
        Path dir = copy(tmp.resolve("gz"));
        byte[] json = Files.readAllBytes(dir.resolve("tokenizer.json"));
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(dir.resolve("tokenizer.json.gz")))) {
            out.write(json);
        }
        Files.delete(dir.resolve("tokenizer.json"));
        try (Tokenizer a = Tokenizer.load(dir);
                Tokenizer b = Tokenizer.load(MODEL)) {
            String text = "Once upon a time, there was a little dog.";
            assertEquals(
                    java.util.Arrays.toString(b.encode(text, true)), java.util.Arrays.toString(a.encode(text, true)));
        }
        // a cap below its size stops it too
        withProperty(
                BoundedReads.TOKENIZER_PROPERTY,
                String.valueOf(json.length - 1),
                () -> assertThrows(BadInputException.class, () -> Tokenizer.load(dir)));
    }

    @Test
    void oversizedJsonFilesAreRejected(@TempDir Path tmp) throws Exception {
        Path dir = copy(tmp.resolve("json"));
        // valid JSON, padded with whitespace past the cap: the size alone is the problem
        String config = Files.readString(dir.resolve("config.json"));
        Files.writeString(dir.resolve("config.json"), config + " ".repeat(8192));
        Path adapter = tmp.resolve("adapter");
        ModelConfig mc = LlamaLoader.config(MODEL);
        LoraConfig lc = LoraConfig.of(2, 4, java.util.List.of("q_proj"));
        PeftAdapter.save(
                adapter,
                lc,
                PeftAdapter.layoutFor(mc, lc),
                new float[PeftAdapter.layoutFor(mc, lc).size()],
                "x");
        String ac = Files.readString(adapter.resolve(PeftAdapter.CONFIG_FILE));
        Files.writeString(adapter.resolve(PeftAdapter.CONFIG_FILE), ac + " ".repeat(8192));
        withProperty(BoundedReads.JSON_PROPERTY, "4096", () -> {
            BadInputException e = assertThrows(BadInputException.class, () -> LlamaLoader.config(dir));
            assertTrue(e.getMessage().contains(dir.resolve("config.json") + " is "), e.getMessage());
            assertTrue(e.getMessage().contains("over the limit of 4096 bytes"), e.getMessage());
            assertTrue(e.getMessage().contains("-D" + BoundedReads.JSON_PROPERTY), e.getMessage());
            BadInputException t = assertThrows(BadInputException.class, () -> Tokenizer.load(dir));
            assertTrue(t.getMessage().contains("config.json"), t.getMessage());
            BadInputException p = assertThrows(BadInputException.class, () -> PeftAdapter.load(adapter, mc));
            assertTrue(p.getMessage().contains(PeftAdapter.CONFIG_FILE + " is "), p.getMessage());
        });
        // with the default cap (64 MiB) the same padded files load
        assertEquals(mc.numLayers(), LlamaLoader.config(dir).numLayers());
        assertEquals(2, PeftAdapter.load(adapter, mc).config().r());
    }
}
