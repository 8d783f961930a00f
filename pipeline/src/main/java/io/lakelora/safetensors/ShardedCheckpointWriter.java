package io.lakelora.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes a checkpoint as transformers' {@code save_pretrained} does: tensors in order, a new shard whenever the next
 * tensor would push the current one past {@code maxShardBytes} (a tensor larger than that gets a shard of its own);
 * one shard is written as {@code <prefix>.safetensors} with no index; several as
 * {@code <prefix>-00001-of-0000N.safetensors} plus {@code <prefix>.safetensors.index.json}
 * ({"metadata": {"total_size": bytes of tensor data}, "weight_map": {tensor: shard file}}, keys sorted).
 */
public final class ShardedCheckpointWriter extends AbstractTensorWriter<ShardedCheckpointWriter> {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private final Path dir;
    private final String prefix;
    private final long maxShardBytes;

    /** @param prefix "model" for model weights; @param maxShardBytes e.g. 5 GB as transformers' default "5GB" */
    public ShardedCheckpointWriter(Path dir, String prefix, long maxShardBytes) {
        if (maxShardBytes <= 0) throw new IllegalArgumentException("maxShardBytes must be positive: " + maxShardBytes);
        if (prefix.isEmpty() || prefix.contains("/"))
            throw new IllegalArgumentException("bad file prefix '" + prefix + "'");
        this.dir = dir.toAbsolutePath().normalize();
        this.prefix = prefix;
        this.maxShardBytes = maxShardBytes;
    }

    /** Writes the shards (and the index when there are several); returns the files written, index last. */
    public List<Path> write() {
        List<List<Pending>> shards = new ArrayList<>();
        List<Pending> cur = new ArrayList<>();
        long curBytes = 0;
        for (Pending p : pending) {
            if (!cur.isEmpty() && curBytes + p.bytes() > maxShardBytes) {
                shards.add(cur);
                cur = new ArrayList<>();
                curBytes = 0;
            }
            cur.add(p);
            curBytes += p.bytes();
        }
        if (!cur.isEmpty() || shards.isEmpty()) shards.add(cur);
        List<Path> files = new ArrayList<>();
        if (shards.size() == 1) {
            Path f = dir.resolve(prefix + ".safetensors");
            SafetensorsWriter.writeFile(f, shards.get(0), metadata);
            files.add(f);
            return files;
        }
        Map<String, String> weightMap = new TreeMap<>();
        long total = 0;
        for (int i = 0; i < shards.size(); i++) {
            String name = String.format("%s-%05d-of-%05d.safetensors", prefix, i + 1, shards.size());
            Path f = dir.resolve(name);
            SafetensorsWriter.writeFile(f, shards.get(i), metadata);
            files.add(f);
            for (Pending p : shards.get(i)) {
                weightMap.put(p.name(), name);
                total += p.bytes();
            }
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode wm = index.putObject("weight_map");
        weightMap.forEach(wm::put);
        Path indexFile = dir.resolve(prefix + ".safetensors.index.json");
        Path tmp = dir.resolve("." + indexFile.getFileName() + ".tmp-"
                + ProcessHandle.current().pid());
        try {
            Files.write(tmp, JSON.writeValueAsBytes(index));
            try {
                Files.move(tmp, indexFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, indexFile, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + indexFile, e);
        }
        files.add(indexFile);
        return files;
    }
}
