package io.lakelora.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.kernel.Kernels;
import io.lakelora.kernel.TestBackends;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.nn.FrozenLinear;
import io.lakelora.quant.QuantType;
import io.lakelora.quant.QuantizedMatrix;
import io.lakelora.safetensors.ShardedCheckpoint;
import io.lakelora.train.Batch;
import io.lakelora.train.LossSum;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Parity with PyTorch: fixtures written by {@code pipeline/src/test/python/gen_lora_parity.py} (the model from HF's
 * modeling code in plain torch, LoRA as PEFT defines it). Loss and the gradient of the mean loss for every LoRA tensor
 * must agree to a relative error of 1e-4 (max |java - torch| / max |torch| per tensor), with the fp32 base and with the
 * base replaced by the fixture's NF4 codes (torch used the same de-quantized weights), through both backends
 * ({@link TestBackends}). Cases: Llama (GQA), Qwen2 (biases, tied, packed), Qwen3 (q/k norms, head_dim 16 with
 * hidden / heads = 8) and Gemma 3 (its config keys as transformers 4.5x writes them: (1 + w) norms, sandwich norms,
 * scaled embeddings, gelu-tanh, query_pre_attn_scalar, sliding and global layers with two RoPE bases).
 */
class LoraParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/fixtures/lora_parity");
    static final double TOL = 1e-4;

    record Case(
            LlamaWeights weights,
            LoraSpec spec,
            float[] params,
            Batch batch,
            JsonNode expected,
            ShardedCheckpoint expectedTensors) {}

    static Case load(String name) throws Exception {
        Path dir = FIXTURES.resolve(name);
        LlamaWeights w = LlamaLoader.load(dir, null);
        JsonNode ac = new ObjectMapper()
                .readTree(dir.resolve("adapter/adapter_config.json").toFile());
        Set<TargetModule> targets = EnumSet.noneOf(TargetModule.class);
        ac.get("target_modules").forEach(t -> targets.add(TargetModule.parse(t.asText())));
        LoraSpec spec = LoraSpec.of(
                ac.get("r").asInt(),
                ac.get("lora_alpha").asDouble(),
                ac.get("use_rslora").asBoolean(),
                ac.get("lora_dropout").asDouble(),
                targets);
        AdapterLayout layout = spec.layout(w.arch());
        float[] params = new float[layout.size()];
        try (ShardedCheckpoint ad = ShardedCheckpoint.open(dir.resolve("adapter/adapter_model.safetensors"))) {
            assertEquals(layout.tensors().size(), ad.tensors().size(), "adapter tensor count");
            for (AdapterLayout.Tensor t : layout.tensors()) {
                float[] v = ad.readFloats(t.peftKey());
                assertEquals(t.size(), v.length, t.peftKey());
                System.arraycopy(v, 0, params, t.offset(), v.length);
            }
        }
        ShardedCheckpoint ex = ShardedCheckpoint.open(dir.resolve("expected.safetensors"));
        Batch batch = new Batch(ints(ex, "input_ids"), ints(ex, "labels"), ints(ex, "position_ids"));
        JsonNode expected =
                new ObjectMapper().readTree(dir.resolve("expected.json").toFile());
        return new Case(w, spec, params, batch, expected, ex);
    }

    static int[][] ints(ShardedCheckpoint ck, String name) {
        long[] shape = ck.info(name).shape();
        ByteBuffer b = ByteBuffer.wrap(ck.readBytes(name)).order(ByteOrder.LITTLE_ENDIAN);
        int[][] out = new int[(int) shape[0]][(int) shape[1]];
        for (int[] row : out) for (int j = 0; j < row.length; j++) row[j] = b.getInt();
        return out;
    }

    /** The same model with every linear weight replaced by the fixture's NF4 codes and absmax (blocksize 64). */
    static LlamaWeights nf4(LlamaWeights w, ShardedCheckpoint ex) {
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < w.arch().numLayers(); l++) {
            FrozenLinear[] lin = new FrozenLinear[TargetModule.values().length];
            for (TargetModule m : TargetModule.values()) {
                FrozenLinear d = w.layer(l).linear(m);
                String key = "nf4." + m.modulePath(l) + ".weight";
                QuantizedMatrix q = QuantizedMatrix.fourBit(
                        QuantType.NF4,
                        d.outFeatures(),
                        d.inFeatures(),
                        64,
                        ex.readBytes(key + ".packed"),
                        ex.readFloats(key + ".absmax"));
                lin[m.ordinal()] = FrozenLinear.quantized(q, d.bias());
            }
            layers.add(w.layer(l).withLinears(lin));
        }
        return new LlamaWeights(w.arch(), w.embedding(), layers, w.finalNorm(), w.lmHead());
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
        "llama_gqa, scalar",
        "llama_gqa, vector",
        "qwen2_tied_packed, scalar",
        "qwen2_tied_packed, vector",
        "qwen3_tied_packed, scalar",
        "qwen3_tied_packed, vector",
        "gemma3_sliding, scalar",
        "gemma3_sliding, vector"
    })
    void fp32LossAndGradientsMatchTorch(String name, String backend) throws Exception {
        Case c = load(name);
        try (ShardedCheckpoint ex = c.expectedTensors()) {
            check(name + " fp32 " + backend, TestBackends.of(backend), c.weights(), c, "loss_sum", "grad.");
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
        "llama_gqa, scalar",
        "llama_gqa, vector",
        "qwen2_tied_packed, scalar",
        "qwen2_tied_packed, vector",
        "qwen3_tied_packed, scalar",
        "qwen3_tied_packed, vector",
        "gemma3_sliding, scalar",
        "gemma3_sliding, vector"
    })
    void nf4LossAndGradientsMatchTorchOnTheSameDequantizedWeights(String name, String backend) throws Exception {
        Case c = load(name);
        try (ShardedCheckpoint ex = c.expectedTensors()) {
            LlamaWeights q = nf4(c.weights(), ex);
            assertTrue(q.layer(0).q().isQuantized());
            check(name + " nf4 " + backend, TestBackends.of(backend), q, c, "loss_sum_nf4", "grad_nf4.");
        }
    }

    private static void check(String label, Kernels kern, LlamaWeights w, Case c, String lossKey, String gradPrefix) {
        LoraLlama model = new LoraLlama(w, c.spec(), kern, false);
        float[] grads = new float[c.params().length];
        LossSum ls = model.forwardBackward(c.params(), grads, c.batch(), 0);
        double want = c.expected().get(lossKey).asDouble();
        assertEquals(c.expected().get("tokens").asLong(), ls.tokens());
        double lossRel = Math.abs(ls.lossSum() - want) / Math.abs(want);
        System.out.printf(
                "%s: loss sum java %.7f torch %.7f (rel %.2e), %d tokens%n",
                label, ls.lossSum(), want, lossRel, ls.tokens());
        assertTrue(lossRel <= TOL, label + " loss rel error " + lossRel);
        double worst = 0;
        for (AdapterLayout.Tensor t : model.layout().tensors()) {
            float[] ref = c.expectedTensors().readFloats(gradPrefix + t.peftKey()); // d(mean loss)
            double maxRef = 0;
            double maxDiff = 0;
            for (int i = 0; i < ref.length; i++) {
                double g = grads[t.offset() + i] / (double) ls.tokens(); // d(sum)/N = d(mean)
                maxRef = Math.max(maxRef, Math.abs(ref[i]));
                maxDiff = Math.max(maxDiff, Math.abs(g - ref[i]));
            }
            assertTrue(maxRef > 0, t.peftKey() + ": torch gradient is all zero");
            double rel = maxDiff / maxRef;
            worst = Math.max(worst, rel);
            assertTrue(
                    rel <= TOL, label + " " + t.peftKey() + ": max rel error " + rel + " (max |grad| " + maxRef + ")");
        }
        System.out.printf(
                "%s: %d LoRA tensors, worst gradient rel error %.2e%n",
                label, model.layout().tensors().size(), worst);
    }
}
