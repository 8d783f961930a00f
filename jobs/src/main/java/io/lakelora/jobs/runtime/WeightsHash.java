package io.lakelora.jobs.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.BadInputException;
import io.lakelora.model.ModelDir;
import io.lakelora.safetensors.ShardedCheckpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.TreeSet;

/**
 * SHA-256 of a model directory's weights by {@link ModelDir#weightsSha256()}'s scheme, for any directory that has
 * safetensors weights, also pre-quantized ones (which {@link ModelDir} does not open): one file, the file's sha256;
 * shards, the sha256 of the {@code sha256sum} listing of the shards sorted by name.
 */
public final class WeightsHash {
    private WeightsHash() {}

    public static String of(Path dir) {
        Path single = dir.resolve(ShardedCheckpoint.SINGLE_FILE);
        if (Files.isRegularFile(single)) return ModelDir.sha256(single);
        Path index = dir.resolve(ShardedCheckpoint.INDEX_FILE);
        if (!Files.isRegularFile(index)) {
            throw new BadInputException("model directory " + dir + " has neither " + ShardedCheckpoint.SINGLE_FILE
                    + " nor " + ShardedCheckpoint.INDEX_FILE + ". Fix: point the config at a model directory in "
                    + "Hugging Face layout");
        }
        TreeSet<String> shards = new TreeSet<>();
        try {
            JsonNode wm = new ObjectMapper().readTree(index.toFile()).path("weight_map");
            for (Iterator<JsonNode> it = wm.elements(); it.hasNext(); )
                shards.add(it.next().asText());
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + index, e);
        }
        if (shards.isEmpty()) throw new BadInputException(index + " has no weight_map. Fix: restore the file");
        StringBuilder sb = new StringBuilder();
        for (String s : shards)
            sb.append(ModelDir.sha256(dir.resolve(s))).append("  ").append(s).append('\n');
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256")
                            .digest(sb.toString().getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM has no SHA-256", e);
        }
    }
}
