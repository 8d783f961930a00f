package io.lakelora.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.error.BadInputException;
import io.lakelora.kernel.VectorKernels;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.Architecture;
import io.lakelora.model.LayerRing;
import io.lakelora.model.LayerSource;
import io.lakelora.model.LayerWeights;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.LoraLlama;
import io.lakelora.model.LoraSpec;
import io.lakelora.model.ModelConfig;
import io.lakelora.model.StreamedBase;
import io.lakelora.train.Batch;
import io.lakelora.train.LossSum;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A training step over a base streamed from disk through the layer ring is the in-memory model's step, bit for bit:
 * the same checkpoint directory loaded whole by {@link LlamaLoader} (the in-memory path every other test uses) and
 * streamed by {@link StreamedBase} give identical losses and LoRA gradients, with explicit reads and with a memory map,
 * for ring sizes 1, 2 and 3; the ring reads exactly the layers it does not still hold and never holds more than K.
 */
class StreamedStepTest {
    @TempDir
    static Path tmp;

    static Path dir;
    static ModelConfig cfg;
    static final int L = 4;

    @BeforeAll
    static void writeCheckpoint() {
        // hidden 64, 4 layers, 4 heads / 2 KV heads, ffn 160, vocab 300 (not a multiple of the 1024-row seed blocks)
        cfg = ModelConfig.builder(Architecture.LLAMA)
                .vocabSize(300)
                .hiddenSize(64)
                .intermediateSize(160)
                .numLayers(L)
                .numHeads(4)
                .numKvHeads(2)
                .ropeTheta(500000.0)
                .rmsNormEps(1e-5)
                .maxPositionEmbeddings(128)
                .tieWordEmbeddings(false)
                .build();
        dir = BenchCheckpoint.ensure(tmp.resolve("tiny-seed3"), "tiny-stream", cfg, 3, 2, s -> {})
                .dir();
    }

    static Batch batch(int T) {
        int[] ids = new SplittableRandom(5).ints(T, 0, cfg.vocabSize()).toArray();
        return new Batch(new int[][] {ids}, new int[][] {ids.clone()}, null);
    }

    static float[] params(LoraSpec spec) {
        // B non-zero so that every A gets a gradient too
        float[] p = new float[spec.layout(cfg).size()];
        SplittableRandom r = new SplittableRandom(9);
        for (int i = 0; i < p.length; i++) p[i] = (float) (0.1 * (2 * r.nextDouble() - 1));
        return p;
    }

    @ParameterizedTest
    @CsvSource({"1, READ, true", "2, READ, true", "3, MMAP, true", "2, MMAP, false", "2, READ, false"})
    void streamedStepIsTheInMemoryStepBitForBit(int slots, LayerRing.Io io, boolean recompute) {
        LoraSpec spec = LoraSpec.of(4, 8.0, false, 0.0, EnumSet.allOf(TargetModule.class));
        float[] p = params(spec);
        Batch b = batch(48);
        LlamaWeights mem = LlamaLoader.load(dir, null);
        float[] gMem = new float[p.length];
        float[] gStr = new float[p.length];
        LoraLlama inMemory = new LoraLlama(mem, spec, new VectorKernels(2), recompute);
        try (StreamedBase base = StreamedBase.open(dir, slots, io)) {
            LoraLlama streamed = new LoraLlama(base, spec, new VectorKernels(2), recompute);
            LayerRing ring = base.layerSource();
            for (int step = 0; step < 2; step++) {
                LayerRing.Stats before = ring.stats();
                LossSum a = inMemory.forwardBackward(p, gMem, b, step);
                LossSum s = streamed.forwardBackward(p, gStr, b, step);
                LayerRing.Stats d = ring.stats().minus(before);
                assertEquals(Double.doubleToLongBits(a.lossSum()), Double.doubleToLongBits(s.lossSum()), "loss");
                assertEquals(a.tokens(), s.tokens());
                assertArrayEquals(gMem, gStr, "LoRA gradients (accumulated over " + (step + 1) + " steps)");
                // order 0..3, 3..0: the K layers still in the ring at the turn are not read again, and a second
                // step starts with the K layers the first one ended with
                int k = Math.min(slots, L);
                assertEquals(step == 0 ? 2 * L - k : 2 * L - 2 * k, d.layersRead(), "layers read in step " + step);
                assertEquals(2 * L - d.layersRead(), d.layersReused());
                assertEquals(d.layersRead() * ring.layerBytes(), d.bytesRead());
                assertTrue(
                        ring.stats().maxHeld() <= k,
                        "the ring held " + ring.stats().maxHeld() + " layers, K=" + k);
            }
            // the ring's buffers are K layers' worth, allocated once
            assertEquals(Math.min(slots, L), ring.slots());
            assertTrue(ring.residentBytes() >= Math.min(slots, L) * ring.layerBytes() - 4096L * slots);
            assertTrue(gStr[0] != 0f || gStr[gStr.length - 1] != 0f);
            // evaluation (a forward-only pass) too
            assertEquals(
                    Double.doubleToLongBits(inMemory.evaluate(p, b).lossSum()),
                    Double.doubleToLongBits(streamed.evaluate(p, b).lossSum()));
            // the embedding rows came from disk: 48 rows of 64 floats per step, plus the evaluation's
            assertEquals(3L * 48 * 64 * 4, base.embeddingBytesRead());
        }
    }

    @Test
    void theRingHoldsAtMostKLayersWhileTheConsumerIsSlow() throws Exception {
        try (StreamedBase base = StreamedBase.open(dir, 2, LayerRing.Io.READ)) {
            LayerRing ring = base.layerSource();
            int[] order = LayerSource.trainingOrder(L);
            try (LayerSource.Pass pass = ring.open(order)) {
                for (int l : order) {
                    LayerWeights w = pass.acquire(l);
                    Thread.sleep(20); // the prefetcher runs ahead as far as the ring lets it
                    assertEquals(cfg.hiddenSize(), w.attnNorm().length);
                    pass.release(l);
                }
            }
            assertEquals(2, ring.stats().maxHeld());
            assertEquals(2 * L - 2, ring.stats().layersRead());
        }
    }

    @Test
    void outOfOrderUseIsAnError() {
        try (StreamedBase base = StreamedBase.open(dir, 2, LayerRing.Io.READ)) {
            LayerRing ring = base.layerSource();
            try (LayerSource.Pass pass = ring.open(LayerSource.forwardOrder(L))) {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> pass.acquire(1));
                assertTrue(e.getMessage().contains("expects layer 0"), e.getMessage());
                assertThrows(IllegalStateException.class, () -> ring.open(LayerSource.forwardOrder(L)));
                pass.acquire(0);
                assertThrows(IllegalStateException.class, () -> pass.release(1));
            }
            // that pass was closed early, holding layer 0: the next one starts cleanly
            try (LayerSource.Pass pass = ring.open(LayerSource.forwardOrder(L))) {
                for (int l = 0; l < L; l++) {
                    pass.acquire(l);
                    pass.release(l);
                }
            }
        }
    }

    @Test
    void aLayerFileTruncatedWhileStreamingFailsWithItsName(@TempDir Path own) throws IOException {
        Path d = BenchCheckpoint.ensure(own.resolve("t"), "tiny-stream", cfg, 3, 1, s -> {})
                .dir();
        Path layer2 = d.resolve(BenchCheckpoint.layerFile(2));
        try (StreamedBase base = StreamedBase.open(d, 1, LayerRing.Io.READ)) {
            try (RandomAccessFile f = new RandomAccessFile(layer2.toFile(), "rw")) {
                f.setLength(f.length() / 2);
            }
            LoraSpec spec = LoraSpec.of(4, 8.0, false, 0.0, EnumSet.allOf(TargetModule.class));
            LoraLlama m = new LoraLlama(base, spec, new VectorKernels(1), true);
            float[] p = params(spec);
            BadInputException e = assertThrows(
                    BadInputException.class, () -> m.forwardBackward(p, new float[p.length], batch(16), 0));
            assertTrue(e.getMessage().contains(layer2.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        }
        // opening it now fails at once, naming the file
        BadInputException e = assertThrows(BadInputException.class, () -> StreamedBase.open(d, 2, LayerRing.Io.READ));
        assertTrue(e.getMessage().contains(layer2.getFileName().toString()), e.getMessage());
    }
}
