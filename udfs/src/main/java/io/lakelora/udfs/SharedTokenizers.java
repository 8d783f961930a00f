package io.lakelora.udfs;

import io.lakelora.text.ChatTemplate;
import io.lakelora.text.ExampleEncoder;
import io.lakelora.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One tokenizer per executor JVM and model path (holder idiom: a static map, loaded on first use by any task in the
 * JVM, shared by all its threads, never closed before the JVM ends). Tasks ship only the path; the native tokenizer
 * is never serialized. The path must be readable on every executor (a local path in local mode, a shared mount such
 * as {@code /dbfs/...} or a file added with {@code SparkContext.addFile} on a cluster).
 */
public final class SharedTokenizers {
    private static final Map<String, Tokenizer> TOKENIZERS = new ConcurrentHashMap<>();
    private static final Map<String, ChatTemplate> TEMPLATES = new ConcurrentHashMap<>();
    private static final Map<String, ExampleEncoder> ENCODERS = new ConcurrentHashMap<>();

    private SharedTokenizers() {}

    /** The tokenizer of a model directory or tokenizer file, loaded once per JVM. */
    public static Tokenizer get(String path) {
        if (path == null || path.isBlank()) {
            throw new IllegalArgumentException("no tokenizer path given. Fix: pass a model directory or tokenizer.json");
        }
        return TOKENIZERS.computeIfAbsent(path, p -> Tokenizer.load(Path.of(p)));
    }

    /**
     * The chat template for a model: {@code override} (a built-in name) if set, else the model's own, else the
     * built-in {@code fallback} ({@link ChatTemplate#select}).
     */
    public static ChatTemplate template(String path, String override, String fallback) {
        String key = path + "\u0000" + override + "\u0000" + fallback;
        return TEMPLATES.computeIfAbsent(key, k -> ChatTemplate.select(get(path).chatTemplate(), override, fallback));
    }

    /** The training-example encoder for a model, template choice and masking mode. */
    public static ExampleEncoder encoder(String path, String override, String fallback, boolean trainOnInputs) {
        String key = path + "\u0000" + override + "\u0000" + fallback + "\u0000" + trainOnInputs;
        return ENCODERS.computeIfAbsent(key, k ->
                new ExampleEncoder(get(path), template(path, override, fallback), trainOnInputs));
    }

    /** How many tokenizers this JVM holds (tests check that tasks share one). */
    public static int loaded() {
        return TOKENIZERS.size();
    }
}
