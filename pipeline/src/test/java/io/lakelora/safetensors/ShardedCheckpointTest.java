package io.lakelora.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.BadInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardedCheckpointTest {
    private static float[] seq(int n, float start) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = start + i;
        return a;
    }

    private static ShardedCheckpointWriter fiveTensors(Path dir, long maxShard) {
        // 400 + 400 + 40 + 800 + 4 bytes
        return new ShardedCheckpointWriter(dir, "model", maxShard)
                .metadata("format", "pt")
                .add("model.embed_tokens.weight", DType.F32, new long[] {10, 10}, seq(100, 0))
                .add("model.layers.0.mlp.up_proj.weight", DType.F32, new long[] {10, 10}, seq(100, 100))
                .add("model.norm.weight", DType.F32, new long[] {10}, seq(10, 200))
                .add("lm_head.weight", DType.F32, new long[] {20, 10}, seq(200, 300))
                .add("scalar", DType.F32, new long[] {}, new float[] {7});
    }

    @Test
    void shardsByMaxSizeWritesTheIndexAndReadsBackAsOneMap(@TempDir Path dir) throws Exception {
        List<Path> files = fiveTensors(dir, 850).write();
        // shard 1: 400+400 (840 would exceed with the next 40? 800+40=840 <= 850 -> fits), shard 2: lm_head 800 + 4
        assertEquals(
                List.of(
                        dir.resolve("model-00001-of-00002.safetensors"),
                        dir.resolve("model-00002-of-00002.safetensors"),
                        dir.resolve("model.safetensors.index.json")),
                files);
        JsonNode index = new ObjectMapper()
                .readTree(dir.resolve("model.safetensors.index.json").toFile());
        assertEquals(1644, index.get("metadata").get("total_size").longValue());
        assertEquals(
                "model-00001-of-00002.safetensors",
                index.get("weight_map").get("model.norm.weight").textValue());
        assertEquals(
                "model-00002-of-00002.safetensors",
                index.get("weight_map").get("scalar").textValue());
        assertEquals(
                List.of(
                        "lm_head.weight",
                        "model.embed_tokens.weight",
                        "model.layers.0.mlp.up_proj.weight",
                        "model.norm.weight",
                        "scalar"),
                iter(index.get("weight_map").fieldNames()),
                "keys sorted as HF writes");
        try (ShardedCheckpoint ck = ShardedCheckpoint.open(dir)) {
            assertEquals(5, ck.tensors().size());
            assertEquals(2, ck.files().size());
            assertArrayEquals(seq(200, 300), ck.readFloats("lm_head.weight"));
            assertArrayEquals(seq(10, 200), ck.readFloats("model.norm.weight"));
            assertArrayEquals(new float[] {7}, ck.readFloats("scalar"));
            assertEquals("pt", ck.metadata().get("format"));
            assertThrows(IllegalArgumentException.class, () -> ck.info("nope"));
        }
    }

    private static List<String> iter(java.util.Iterator<String> it) {
        List<String> l = new java.util.ArrayList<>();
        it.forEachRemaining(l::add);
        return l;
    }

    @Test
    void oneShardIsAPlainModelSafetensors(@TempDir Path dir) {
        assertEquals(
                List.of(dir.resolve("model.safetensors")),
                fiveTensors(dir, 1L << 30).write());
        assertFalse(Files.exists(dir.resolve("model.safetensors.index.json")));
        try (ShardedCheckpoint ck = ShardedCheckpoint.open(dir)) {
            assertEquals(5, ck.tensors().size());
        }
    }

    @Test
    void tensorLargerThanTheLimitGetsItsOwnShard(@TempDir Path dir) {
        List<Path> files = fiveTensors(dir, 100).write();
        assertEquals(6, files.size()); // 5 shards (each tensor alone) + index
        try (ShardedCheckpoint ck = ShardedCheckpoint.open(dir.resolve("model.safetensors.index.json"))) {
            assertArrayEquals(seq(100, 100), ck.readFloats("model.layers.0.mlp.up_proj.weight"));
        }
    }

    @Test
    void brokenIndexesAreClearErrors(@TempDir Path dir) throws Exception {
        fiveTensors(dir, 850).write();
        Path index = dir.resolve("model.safetensors.index.json");
        Files.writeString(index, "{\"weight_map\":{\"model.norm.weight\":\"model-00009-of-00009.safetensors\"}}");
        BadInputException e = assertThrows(BadInputException.class, () -> ShardedCheckpoint.open(dir));
        assertTrue(
                e.getMessage().contains("model-00009-of-00009.safetensors")
                        && e.getMessage().contains("Fix"),
                e.getMessage());
        Files.writeString(index, "{\"weight_map\":{\"ghost\":\"model-00001-of-00002.safetensors\"}}");
        e = assertThrows(BadInputException.class, () -> ShardedCheckpoint.open(dir));
        assertTrue(e.getMessage().contains("'ghost'"), e.getMessage());
        Files.writeString(index, "{\"weight_map\":{\"x\":\"../etc/passwd\"}}");
        e = assertThrows(BadInputException.class, () -> ShardedCheckpoint.open(dir));
        assertTrue(e.getMessage().contains("same directory"), e.getMessage());
        Path empty = Files.createDirectory(dir.resolve("empty"));
        e = assertThrows(BadInputException.class, () -> ShardedCheckpoint.open(empty));
        assertTrue(e.getMessage().contains("model.safetensors.index.json")
                && e.getMessage().contains(empty.toString()));
    }
}
