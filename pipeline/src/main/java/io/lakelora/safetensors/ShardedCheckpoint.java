package io.lakelora.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.BadInputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * All tensors of a checkpoint as one map, whether it is one {@code model.safetensors} or several shards listed by
 * {@code model.safetensors.index.json} ({"weight_map": {tensor: shard file}}). Shards are opened (and validated) once
 * each; reads go to the shard that holds the tensor. Thread-safe for reads.
 */
public final class ShardedCheckpoint implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path source;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> owner;
    private final Map<String, TensorInfo> tensors;

    private ShardedCheckpoint(Path source, List<SafetensorsFile> files, Map<String, SafetensorsFile> owner) {
        this.source = source;
        this.files = Collections.unmodifiableList(files);
        this.owner = Collections.unmodifiableMap(owner);
        Map<String, TensorInfo> t = new LinkedHashMap<>();
        owner.forEach((name, f) -> t.put(name, f.info(name)));
        this.tensors = Collections.unmodifiableMap(t);
    }

    /**
     * Opens a directory (its {@code model.safetensors}, else its {@code model.safetensors.index.json}), an index file,
     * or a single {@code .safetensors} file.
     */
    public static ShardedCheckpoint open(Path dirOrFile) {
        Path p = dirOrFile.toAbsolutePath().normalize();
        if (Files.isDirectory(p)) {
            if (Files.isRegularFile(p.resolve(SINGLE_FILE))) return single(p.resolve(SINGLE_FILE));
            if (Files.isRegularFile(p.resolve(INDEX_FILE))) return indexed(p.resolve(INDEX_FILE));
            throw new BadInputException("checkpoint " + p + ": neither " + SINGLE_FILE + " nor " + INDEX_FILE
                    + " is there. Fix: put the model's safetensors weights in it (convert .bin/.pth weights with "
                    + "transformers' save_pretrained(safe_serialization=True))");
        }
        if (p.getFileName().toString().endsWith(".index.json")) return indexed(p);
        return single(p);
    }

    private static ShardedCheckpoint single(Path f) {
        SafetensorsFile sf = SafetensorsFile.open(f);
        Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
        for (String n : sf.tensors().keySet()) owner.put(n, sf);
        return new ShardedCheckpoint(f, new ArrayList<>(List.of(sf)), owner);
    }

    private static ShardedCheckpoint indexed(Path index) {
        JsonNode root;
        try {
            root = JSON.readTree(index.toFile());
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
            throw new BadInputException(
                    "checkpoint index " + index + ": no 'weight_map' object of tensor -> shard file. "
                            + "Fix: restore the file as saved by transformers");
        }
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            for (Iterator<Map.Entry<String, JsonNode>> it = wm.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String shard = e.getValue().asText("");
                if (!e.getValue().isTextual()
                        || shard.isEmpty()
                        || shard.contains("/")
                        || shard.contains("\\")
                        || shard.equals("..")
                        || shard.equals(".")) {
                    throw new BadInputException(
                            "checkpoint index " + index + ": tensor '" + e.getKey() + "' maps to '" + e.getValue()
                                    + "', expected a file name in the same directory. Fix: correct the weight_map");
                }
                SafetensorsFile sf = shards.get(shard);
                if (sf == null) {
                    Path f = index.resolveSibling(shard);
                    if (!Files.isRegularFile(f)) {
                        throw new BadInputException(
                                "checkpoint index " + index + " lists shard " + shard + " (for tensor '" + e.getKey()
                                        + "') but " + f + " does not exist. Fix: download every shard of the model");
                    }
                    sf = SafetensorsFile.open(f);
                    opened.add(sf);
                    shards.put(shard, sf);
                }
                if (!sf.contains(e.getKey())) {
                    throw new BadInputException("checkpoint index " + index + " says tensor '" + e.getKey() + "' is in "
                            + shard + " but that shard has no such tensor. Fix: the shards and the index are from "
                            + "different saves; download them again together");
                }
                owner.put(e.getKey(), sf);
            }
        } catch (RuntimeException ex) {
            opened.forEach(SafetensorsFile::close);
            throw ex;
        }
        return new ShardedCheckpoint(index, opened, owner);
    }

    /** The file opened (a .safetensors or the index). */
    public Path source() {
        return source;
    }

    /** Every tensor by name (shard order, then data order within a shard; index order for an index). */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** True when the checkpoint has {@code name}. */
    public boolean contains(String name) {
        return owner.containsKey(name);
    }

    /** The shard files, in the order opened. */
    public List<SafetensorsFile> files() {
        return files;
    }

    /** The shard that holds {@code name}. */
    public SafetensorsFile fileOf(String name) {
        SafetensorsFile f = owner.get(name);
        if (f == null) {
            throw new IllegalArgumentException(
                    "checkpoint " + source + " has no tensor '" + name + "' (" + owner.size() + " tensors)");
        }
        return f;
    }

    /** The entry of {@code name} (offsets relative to its shard's data area). */
    public TensorInfo info(String name) {
        return fileOf(name).info(name);
    }

    /** The whole tensor as floats (F32/F16/BF16). */
    public float[] readFloats(String name) {
        return fileOf(name).readFloats(name);
    }

    /** Part of a tensor as floats; see {@link SafetensorsFile#readFloats(String, long, float[], int, int)}. */
    public void readFloats(String name, long from, float[] dst, int off, int count) {
        fileOf(name).readFloats(name, from, dst, off, count);
    }

    /** Raw bytes of a tensor. */
    public byte[] readBytes(String name) {
        return fileOf(name).readBytes(name);
    }

    /** Mapped chunks of a tensor; see {@link SafetensorsFile#buffers(String)}. */
    public ByteBuffer[] buffers(String name) {
        return fileOf(name).buffers(name);
    }

    /** {@code __metadata__} of the first shard (transformers writes the same to each). */
    public Map<String, String> metadata() {
        return files.isEmpty() ? Map.of() : files.get(0).metadata();
    }

    @Override
    public void close() {
        for (SafetensorsFile f : files) f.close();
    }
}
