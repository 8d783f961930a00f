package io.lakelora.kernel.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.quant.QuantType;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The step's device memory, on a small shape whose every line is counted by hand below. */
class WorkspacePlanTest {
    // L=2, C=64, F=160, NH=4, NKV=2, HS=16, V=100, B=2, T=8 (N=16); LoRA: 5000 floats, ranks 24 per layer, widest
    // input 160, largest rank 8; dropout on; 300 dense base floats; LM head chunk 16 rows
    static WorkspacePlan.StepShape shape(boolean recompute, FrozenGemm.Mode mode) {
        return new WorkspacePlan.StepShape(
                2, 64, 160, 4, 2, 16, 100, 2, 8, 5000, 24, 160, 8, true, recompute, mode, 300, 16);
    }

    static final QuantLayout W = new QuantLayout(QuantType.NF4, 160, 64, 64, 256, 0f, 0, 0, -1, 0, 0, 0, -1, 9000);

    @Test
    void countsEveryBufferOfTheStep() {
        WorkspacePlan p = WorkspacePlan.of(shape(false, FrozenGemm.Mode.BF16), List.of(W, W));
        assertEquals(18000, p.bytes("base: quantized weights"));
        assertEquals(1200, p.bytes("base: dense fp32 (embeddings, norms, dense heads)"));
        assertEquals(40000, p.bytes("lora: parameters and gradients (fp32)"));
        // per token: 4*64 + 2*64 + 2*32 + 3*160 + 2 + 24 = 954 floats; probs 2*4*8*8 = 512 floats per layer
        assertEquals(4 * (16 * 954 + 512), p.perLayerBytes());
        assertEquals(2 * 4 * (16 * 954 + 512), p.bytes("activations: 2 layer(s) kept for the backward"));
        assertEquals(4 * 3 * 16 * 64, p.bytes("activations: residual stream, L+1 rows of (N, C)"));
        // 16*65 + 3*16*64 + 2*16*64 + 2*16*32 + 3*16*160 + 16*8 + 512 = 1040 + 3072 + 2048 + 1024 + 7680 + 128 + 512
        assertEquals(4 * 15504, p.bytes("step: final norm and gradient buffers"));
        assertEquals(2 * 4 * 16 * 160, p.bytes("step: dropout xd and dxd"));
        assertEquals(2 * 160 * 64, p.bytes("frozen products: decode tile"), "the whole 160x64 weight in bf16");
        assertEquals(2 * 16 * 160, p.bytes("frozen products: bf16 activations"));
        assertEquals(16 * (400 + 12), p.bytes("lm head: logits chunk and its losses"));
        assertEquals(20 * 16, p.bytes("batch: token ids, positions, windows, targets"));
        assertEquals(2 * 4 * 8 * 8, p.bytes("rope: cos and sin tables"));
        assertEquals(32 << 20, p.bytes("cuBLAS workspace"));
        long sum = 18000
                + 1200
                + 40000
                + 2 * 4 * (16 * 954 + 512)
                + 4 * 3 * 16 * 64
                + 4 * 15504
                + 2 * 4 * 16 * 160
                + 2 * 160 * 64
                + 2 * 16 * 160
                + 16 * 412
                + 320
                + 512
                + (32 << 20);
        assertEquals(sum, p.totalBytes());
        assertEquals(4 * 5000 + 320, p.uploadPerStep(), "the LoRA slab and the batch");
        assertEquals(4 * 5000 + 8, p.downloadPerStep(), "the gradient sums and the loss");
    }

    @Test
    void recomputationKeepsOneLayerAndF32DropsTheBf16Copy() {
        WorkspacePlan full = WorkspacePlan.of(shape(false, FrozenGemm.Mode.F32), List.of(W));
        WorkspacePlan rec = WorkspacePlan.of(shape(true, FrozenGemm.Mode.F32), List.of(W));
        assertEquals(full.perLayerBytes(), full.totalBytes() - rec.totalBytes());
        assertEquals(0, full.bytes("frozen products: bf16 activations"));
        assertEquals(4 * 160 * 64, full.bytes("frozen products: decode tile"));
    }

    @Test
    void aStepThatDoesNotFitSaysWhatToChange() {
        WorkspacePlan p = WorkspacePlan.of(shape(false, FrozenGemm.Mode.BF16), List.of(W));
        p.requireFits(p.totalBytes(), "fake");
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> p.requireFits(p.totalBytes() - 1, "GPU 0 (fake)"));
        assertTrue(e.getMessage().contains("GPU 0 (fake) has 0.03 GiB free"), e.getMessage());
        assertTrue(e.getMessage().contains("cuBLAS workspace: 0.03 GiB"), e.getMessage());
        assertTrue(e.getMessage().contains("Fix: turn on activation recomputation"), e.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> new WorkspacePlan.StepShape(
                        2, 64, 160, 3, 2, 16, 100, 2, 8, 5000, 24, 160, 8, true, true, FrozenGemm.Mode.F32, 0, 16));
    }
}
