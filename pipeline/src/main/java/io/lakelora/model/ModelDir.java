package io.lakelora.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.BadInputException;
import io.lakelora.safetensors.ShardedCheckpoint;
import io.lakelora.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * A model directory in Hugging Face layout, the unit users pass around: {@code config.json}, the weights
 * ({@code model.safetensors}, or shards listed by {@code model.safetensors.index.json}) and the tokenizer
 * ({@code tokenizer.json}, {@code tokenizer.json.gz} or {@code tokenizer.model}, with {@code tokenizer_config.json},
 * {@code generation_config.json}). {@link #open} checks that all of it is there and parses config.json; weights and
 * tokenizer are opened on demand. Immutable; {@link #weightsSha256()} is computed once.
 */
public final class ModelDir {
    public static final String CONFIG = "config.json";
    private static final String[] TOKENIZER_FILES = {"tokenizer.json", "tokenizer.json.gz", "tokenizer.model"};

    private final Path path;
    private final ModelConfig config;
    private final Path weightsEntry;
    private final List<Path> weightFiles;
    private final Path tokenizerFile;
    private volatile String sha256;

    private ModelDir(Path path, ModelConfig config, Path weightsEntry, List<Path> weightFiles, Path tokenizerFile) {
        this.path = path;
        this.config = config;
        this.weightsEntry = weightsEntry;
        this.weightFiles = Collections.unmodifiableList(weightFiles);
        this.tokenizerFile = tokenizerFile;
    }

    /** Opens and checks {@code dir}; a missing piece is a {@link BadInputException} naming the path and what to put there. */
    public static ModelDir open(Path dir) {
        Path d = dir.toAbsolutePath().normalize();
        if (!Files.isDirectory(d)) {
            throw new BadInputException("model directory " + d + (Files.exists(d) ? " is a file" : " does not exist")
                    + ". Fix: pass a directory in Hugging Face layout (config.json, model.safetensors, tokenizer.json), "
                    + "e.g. one downloaded with `huggingface-cli download <repo> --local-dir DIR`");
        }
        Path cfg = d.resolve(CONFIG);
        if (!Files.isRegularFile(cfg)) {
            throw new BadInputException("model directory " + d + " has no " + CONFIG + ". Fix: copy the model's "
                    + "config.json from its Hugging Face repository into " + d);
        }
        ModelConfig config = ModelConfig.load(cfg);
        Path entry;
        List<Path> files;
        Path single = d.resolve(ShardedCheckpoint.SINGLE_FILE);
        Path index = d.resolve(ShardedCheckpoint.INDEX_FILE);
        if (Files.isRegularFile(single)) {
            entry = single;
            files = List.of(single);
        } else if (Files.isRegularFile(index)) {
            entry = index;
            files = shardsOf(index);
        } else {
            String hint = Files.exists(d.resolve("pytorch_model.bin"))
                            || Files.exists(d.resolve("pytorch_model.bin.index.json"))
                    ? " It has PyTorch .bin weights: convert them with transformers "
                            + "(AutoModelForCausalLM.from_pretrained(DIR).save_pretrained(DIR, safe_serialization=True))."
                    : "";
            throw new BadInputException("model directory " + d + " has neither " + ShardedCheckpoint.SINGLE_FILE
                    + " nor " + ShardedCheckpoint.INDEX_FILE + "." + hint
                    + " Fix: put the model's safetensors weights into " + d);
        }
        Path tok = null;
        for (String n : TOKENIZER_FILES) {
            if (Files.isRegularFile(d.resolve(n))) {
                tok = d.resolve(n);
                break;
            }
        }
        if (tok == null) {
            throw new BadInputException(
                    "model directory " + d + " has no tokenizer (" + String.join(", ", TOKENIZER_FILES)
                            + "). Fix: copy the model's tokenizer.json and tokenizer_config.json into " + d);
        }
        return new ModelDir(d, config, entry, files, tok);
    }

    /** The shard files named by an index (sorted, each checked to exist). */
    private static List<Path> shardsOf(Path index) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(io.lakelora.error.BoundedReads.readJsonFile(index));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new BadInputException(
                    "checkpoint index " + index + ": not valid JSON (" + e.getOriginalMessage()
                            + "). Fix: restore the file as saved by transformers",
                    e);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + index, e);
        }
        JsonNode wm = root == null ? null : root.get("weight_map");
        if (wm == null || !wm.isObject() || wm.size() == 0) {
            throw new BadInputException("checkpoint index " + index
                    + ": no 'weight_map'. Fix: restore the file as saved " + "by transformers");
        }
        TreeSet<String> names = new TreeSet<>();
        for (Iterator<JsonNode> it = wm.elements(); it.hasNext(); )
            names.add(it.next().asText());
        List<Path> files = new ArrayList<>();
        for (String n : names) {
            Path f = index.resolveSibling(n);
            if (n.isEmpty() || n.contains("/") || n.contains("\\") || !Files.isRegularFile(f)) {
                throw new BadInputException("checkpoint index " + index + " lists shard '" + n + "' but " + f
                        + " is missing. Fix: download every shard of the model into " + index.getParent());
            }
            files.add(f);
        }
        return files;
    }

    /** The directory. */
    public Path path() {
        return path;
    }

    /** The parsed config.json. */
    public ModelConfig config() {
        return config;
    }

    /** {@code model.safetensors}, or {@code model.safetensors.index.json} for a sharded checkpoint. */
    public Path weightsEntry() {
        return weightsEntry;
    }

    /** True when the weights are sharded (an index file). */
    public boolean sharded() {
        return weightsEntry.getFileName().toString().endsWith(".index.json");
    }

    /** The safetensors files holding the weights (one, or the shards sorted by name). */
    public List<Path> weightFiles() {
        return weightFiles;
    }

    /** The tokenizer file (tokenizer.json, tokenizer.json.gz or tokenizer.model). */
    public Path tokenizerFile() {
        return tokenizerFile;
    }

    /** generation_config.json when present. */
    public Optional<Path> generationConfig() {
        Path g = path.resolve("generation_config.json");
        return Files.isRegularFile(g) ? Optional.of(g) : Optional.empty();
    }

    /** Opens (and validates) the weights; the caller closes them. */
    public ShardedCheckpoint openWeights() {
        return ShardedCheckpoint.open(weightsEntry);
    }

    /** Loads the tokenizer with its companion files; the caller closes it. */
    public Tokenizer openTokenizer() {
        return Tokenizer.load(path);
    }

    /**
     * SHA-256 (hex) identifying the weights, for lineage. One file: the plain SHA-256 of model.safetensors (equal to
     * {@code sha256sum model.safetensors}). Shards: the SHA-256 of the text {@code sha256sum} prints for the shards
     * sorted by name ("HEX  NAME\n" per shard). Streamed; computed once per instance.
     */
    public String weightsSha256() {
        String s = sha256;
        if (s == null) {
            if (weightFiles.size() == 1) {
                s = sha256(weightFiles.get(0));
            } else {
                StringBuilder sb = new StringBuilder();
                for (Path f : weightFiles)
                    sb.append(sha256(f)).append("  ").append(f.getFileName()).append('\n');
                s = HexFormat.of()
                        .formatHex(digest().digest(sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            }
            sha256 = s;
        }
        return s;
    }

    /** SHA-256 (hex) of a file, streamed. */
    public static String sha256(Path file) {
        MessageDigest md = digest();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        } catch (IOException e) {
            throw new UncheckedIOException("hashing " + file, e);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM has no SHA-256", e);
        }
    }

    @Override
    public String toString() {
        return "ModelDir[" + path + ", " + config + "]";
    }
}
