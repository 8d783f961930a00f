package io.lakelora.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.error.BadInputException;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.ModelConfig;
import io.lakelora.quant.Quantizer;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The benchmark checkpoint cache: written once and reused, a truncated layer found and written again (the same bytes:
 * generation is deterministic per layer), another shape or seed in the directory refused, free space checked first,
 * and the result readable by the ordinary loader (transformers' bitsandbytes layout, exactly the quantizer's matrices).
 */
class BenchCheckpointTest {
    static ModelConfig cfg() {
        return BenchShape.named("tiny").config();
    }

    @Test
    void writtenOnceThenReusedAndATruncatedLayerIsRewritten(@TempDir Path tmp) throws IOException {
        Path d = tmp.resolve("tiny-seed1");
        List<String> log = new ArrayList<>();
        BenchCheckpoint.Result first = BenchCheckpoint.ensure(d, "tiny", cfg(), 1, 2, log::add);
        assertEquals(2, first.layersWritten());
        assertEquals(0, first.layersKept());
        assertTrue(first.baseWritten());
        Path layer1 = d.resolve(BenchCheckpoint.layerFile(1));
        byte[] original = Files.readAllBytes(layer1);
        FileTime t0 = Files.getLastModifiedTime(d.resolve(BenchCheckpoint.layerFile(0)));

        BenchCheckpoint.Result again = BenchCheckpoint.ensure(d, "tiny", cfg(), 1, 2, log::add);
        assertEquals(0, again.layersWritten());
        assertEquals(2, again.layersKept());
        assertFalse(again.baseWritten());
        assertEquals(t0, Files.getLastModifiedTime(d.resolve(BenchCheckpoint.layerFile(0))));
        assertEquals(first.bytes(), again.bytes());

        try (RandomAccessFile f = new RandomAccessFile(layer1.toFile(), "rw")) {
            f.setLength(f.length() - 100);
        }
        BenchCheckpoint.Result repaired = BenchCheckpoint.ensure(d, "tiny", cfg(), 1, 1, log::add);
        assertEquals(1, repaired.layersWritten());
        assertEquals(1, repaired.layersKept());
        assertFalse(repaired.baseWritten());
        assertArrayEquals(original, Files.readAllBytes(layer1), "a regenerated layer is the same bytes");
        assertEquals(t0, Files.getLastModifiedTime(d.resolve(BenchCheckpoint.layerFile(0))));
    }

    @Test
    void theLoaderReadsItAsTheQuantizersMatrices(@TempDir Path tmp) {
        Path d = BenchCheckpoint.ensure(tmp.resolve("c"), "tiny", cfg(), 4, 1, s -> {})
                .dir();
        LlamaWeights w = LlamaLoader.load(d, null);
        assertEquals(cfg(), w.arch());
        for (int l = 0; l < cfg().numLayers(); l++) {
            for (TargetModule m : TargetModule.values()) {
                var stored = w.layer(l).linear(m).quantizedWeight();
                var expected = BenchCheckpoint.layerLinear(cfg(), 4, l, m);
                assertArrayEquals(expected.packedData(), stored.packedData(), m + " of layer " + l);
                assertArrayEquals(expected.absmaxCodeData(), stored.absmaxCodeData());
                assertArrayEquals(expected.nestedAbsmaxData(), stored.nestedAbsmaxData());
                assertEquals(expected.nestedOffset(), stored.nestedOffset());
            }
        }
        // NF4 + double quantization, as QLoRA: 4.127 bits per parameter on these shapes' blocks
        assertEquals(Quantizer.qlora().type(), w.layer(0).q().quantizedWeight().type());
        assertTrue(w.layer(0).q().quantizedWeight().doubleQuant());
    }

    @Test
    void anotherShapeOrSeedInTheDirectoryIsRefused(@TempDir Path tmp) {
        Path d = tmp.resolve("x");
        BenchCheckpoint.ensure(d, "tiny", cfg(), 1, 1, s -> {});
        BadInputException e =
                assertThrows(BadInputException.class, () -> BenchCheckpoint.ensure(d, "tiny", cfg(), 2, 1, s -> {}));
        assertTrue(e.getMessage().contains("seed") && e.getMessage().contains("Fix: delete " + d), e.getMessage());
    }

    @Test
    void notEnoughFreeSpaceFailsBeforeWritingWithTheBytesTheDirAndTheFix(@TempDir Path tmp) {
        long need = Long.MAX_VALUE / 4;
        BadInputException e =
                assertThrows(BadInputException.class, () -> BenchCheckpoint.checkFreeSpace(tmp, need, "llama3-70b"));
        assertTrue(e.getMessage().contains(need + " bytes"), e.getMessage());
        assertTrue(e.getMessage().contains(tmp.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("--cache-dir"), e.getMessage());
    }

    @Test
    void sizeEstimatesBoundTheFiles(@TempDir Path tmp) throws IOException {
        Path d = BenchCheckpoint.ensure(tmp.resolve("s"), "tiny", cfg(), 1, 1, s -> {})
                .dir();
        long layer = Files.size(d.resolve(BenchCheckpoint.layerFile(0)));
        long base = Files.size(d.resolve(BenchCheckpoint.BASE_FILE));
        assertTrue(layer <= BenchCheckpoint.layerBytesEstimate(cfg()), layer + " > estimate");
        assertTrue(base <= BenchCheckpoint.baseBytesEstimate(cfg()), base + " > estimate");
        // Llama-3-70B: 80 layers of 855,638,016 NF4+DQ weights (~441 MB each) and 2 x 4.2 GB of fp32 embeddings/head
        ModelConfig big = BenchShape.named("llama3-70b").config();
        assertEquals(441, BenchCheckpoint.layerBytesEstimate(big) / 1_000_000);
        assertEquals(8405, BenchCheckpoint.baseBytesEstimate(big) / 1_000_000);
    }
}
