package io.lakelora.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.BadInputException;
import io.lakelora.error.BoundedReads;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds the files of a tokenizer: the tokenizer itself ({@code tokenizer.json}, {@code tokenizer.json.gz} or a
 * SentencePiece {@code tokenizer.model}) and its optional companions {@code tokenizer_config.json},
 * {@code generation_config.json}, {@code config.json} and {@code chat_template.jinja}. Given a file, the companions
 * are looked up beside it, also with the file's name prefix ({@code qwen3-tokenizer.json.gz} ->
 * {@code qwen3-tokenizer_config.json}).
 */
record TokenizerFiles(
        Path tokenizer, Path tokenizerConfig, Path generationConfig, Path modelConfig, Path chatTemplate) {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String[] TOKENIZER_NAMES = {"tokenizer.json", "tokenizer.json.gz", "tokenizer.model"};

    static TokenizerFiles locate(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        if (Files.isDirectory(abs)) {
            Path tok = null;
            for (String n : TOKENIZER_NAMES) {
                if (Files.isRegularFile(abs.resolve(n))) {
                    tok = abs.resolve(n);
                    break;
                }
            }
            if (tok == null) {
                throw new BadInputException(
                        "tokenizer: directory " + abs + " has none of " + String.join(", ", TOKENIZER_NAMES)
                                + ". Fix: copy the model's tokenizer.json (or SentencePiece tokenizer.model) into it");
            }
            return new TokenizerFiles(
                    tok,
                    opt(abs, "tokenizer_config.json"),
                    opt(abs, "generation_config.json"),
                    opt(abs, "config.json"),
                    opt(abs, "chat_template.jinja"));
        }
        if (!Files.isRegularFile(abs)) {
            throw new BadInputException("tokenizer: " + abs + " does not exist. Fix: pass a model directory or a "
                    + "tokenizer.json / tokenizer.json.gz / tokenizer.model file");
        }
        String name = abs.getFileName().toString();
        String prefix = "";
        for (String suffix : new String[] {"tokenizer.json.gz", "tokenizer.json", "tokenizer.model"}) {
            if (name.endsWith(suffix)) {
                prefix = name.substring(0, name.length() - suffix.length());
                break;
            }
        }
        Path dir = abs.getParent();
        return new TokenizerFiles(
                abs,
                opt(dir, prefix + "tokenizer_config.json"),
                opt(dir, prefix + "generation_config.json"),
                opt(dir, prefix + "config.json"),
                opt(dir, prefix + "chat_template.jinja"));
    }

    private static Path opt(Path dir, String name) {
        Path f = dir.resolve(name);
        return Files.isRegularFile(f) ? f : null;
    }

    /**
     * The bytes of a file, gunzipped when its name ends in {@code .gz}; at most {@link BoundedReads#tokenizerCap()}
     * bytes (after gunzipping), else a {@link BadInputException} naming the file and the limit.
     */
    static byte[] readMaybeGzip(Path f) {
        if (f.getFileName().toString().endsWith(".gz")) {
            return BoundedReads.gunzip(f, BoundedReads.tokenizerCap(), BoundedReads.TOKENIZER_PROPERTY);
        }
        return BoundedReads.read(f, BoundedReads.tokenizerCap(), BoundedReads.TOKENIZER_PROPERTY);
    }

    /** A JSON object file, or an empty object when {@code f} is null. */
    static JsonNode readJson(Path f) {
        if (f == null) return JSON.createObjectNode();
        try {
            JsonNode n = JSON.readTree(BoundedReads.readJsonFile(f));
            if (n == null || !n.isObject()) {
                throw new BadInputException(
                        f + ": expected a JSON object, found " + (n == null ? "nothing" : n.getNodeType())
                                + ". Fix: restore the file as saved by transformers");
            }
            return n;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new BadInputException(
                    f + ": not valid JSON (" + e.getOriginalMessage() + "). Fix: restore the file "
                            + "as saved by transformers",
                    e);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + f, e);
        }
    }
}
