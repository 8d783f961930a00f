package io.lakelora.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.error.BadInputException;
import io.lakelora.safetensors.DType;
import io.lakelora.safetensors.ShardedCheckpoint;
import io.lakelora.safetensors.ShardedCheckpointWriter;
import io.lakelora.tokenizer.Tokenizer;
import io.lakelora.util.Assets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelDirTest {
    @Test
    void opensStories260K() {
        ModelDir m = ModelDir.open(Assets.require("models/stories260K-hf"));
        assertEquals(512, m.config().vocabSize());
        assertFalse(m.sharded());
        assertEquals("tokenizer.json", m.tokenizerFile().getFileName().toString());
        assertTrue(m.generationConfig().isPresent());
        // golden: `sha256sum shared/assets/models/stories260K-hf/model.safetensors`
        assertEquals("0fd630cf3521b13c0e223fc19326b8a1bb3dd1100418bc9b90f1b89eede6e495", m.weightsSha256());
        try (ShardedCheckpoint w = m.openWeights();
                Tokenizer t = m.openTokenizer()) {
            assertEquals(47, w.tensors().size());
            assertEquals(m.config().vocabSize(), t.vocabSize());
        }
    }

    @Test
    void missingPiecesAreClearErrors(@TempDir Path dir) throws Exception {
        Path none = dir.resolve("nope");
        BadInputException e = assertThrows(BadInputException.class, () -> ModelDir.open(none));
        assertTrue(
                e.getMessage().contains(none.toString()) && e.getMessage().contains("does not exist"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> ModelDir.open(dir));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains(dir.toString()), e.getMessage());
        Path src = Assets.require("models/stories260K-hf");
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        Files.writeString(dir.resolve("pytorch_model.bin"), "x");
        e = assertThrows(BadInputException.class, () -> ModelDir.open(dir));
        assertTrue(
                e.getMessage().contains("model.safetensors") && e.getMessage().contains("safe_serialization"),
                e.getMessage());
        Files.copy(src.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        e = assertThrows(BadInputException.class, () -> ModelDir.open(dir));
        assertTrue(
                e.getMessage().contains("tokenizer.json") && e.getMessage().contains(dir.toString()), e.getMessage());
        Files.copy(src.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        assertEquals(5, ModelDir.open(dir).config().numLayers());
    }

    @Test
    void shardedWeightsHashAndMissingShard(@TempDir Path dir) throws Exception {
        Path src = Assets.require("models/stories260K-hf");
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        Files.copy(src.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        new ShardedCheckpointWriter(dir, "model", 16)
                .add("a", DType.F32, new long[] {4}, new float[] {1, 2, 3, 4})
                .add("b", DType.F32, new long[] {4}, new float[] {5, 6, 7, 8})
                .write();
        ModelDir m = ModelDir.open(dir);
        assertTrue(m.sharded());
        assertEquals(2, m.weightFiles().size());
        // golden: printf '%s  %s\n' $(sha256sum shard1) shard1 ... | sha256sum  (the sha256sum listing of the shards)
        String listing = ModelDir.sha256(m.weightFiles().get(0)) + "  model-00001-of-00002.safetensors\n"
                + ModelDir.sha256(m.weightFiles().get(1)) + "  model-00002-of-00002.safetensors\n";
        Path listingFile = Files.writeString(dir.resolve("listing.txt"), listing);
        assertEquals(ModelDir.sha256(listingFile), m.weightsSha256());
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        BadInputException e = assertThrows(BadInputException.class, () -> ModelDir.open(dir));
        assertTrue(e.getMessage().contains("model-00002-of-00002.safetensors"), e.getMessage());
    }
}
