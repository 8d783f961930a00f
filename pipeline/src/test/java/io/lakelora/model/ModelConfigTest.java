package io.lakelora.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.BadInputException;
import io.lakelora.util.Assets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Handwritten config.json files (copies of the published configs of Llama-3.1-8B-Instruct, Llama-3.2-1B in
 * transformers 5's rope_parameters style, a linear-scaled Llama-2, Mistral-7B-v0.1, Qwen2.5-0.5B, Qwen3-1.7B,
 * gemma-3-1b-it and the multimodal gemma-3-27b-it, whose sparse text_config leaves the rest to Gemma3TextConfig's
 * defaults) and the real stories260K config. inv_freq goldens: fixtures/model/make_rope_fixture.py (torch float32, transformers' formulas).
 */
class ModelConfigTest {
    static Path fixture(String name) throws Exception {
        return Path.of(
                ModelConfigTest.class.getResource("/fixtures/model/" + name).toURI());
    }

    @Test
    void llama31WithLlama3RopeScaling() throws Exception {
        ModelConfig c = ModelConfig.load(fixture("llama3.1-8b-instruct.config.json"));
        assertEquals(Architecture.LLAMA, c.architecture());
        assertEquals(128256, c.vocabSize());
        assertEquals(4096, c.hiddenSize());
        assertEquals(14336, c.intermediateSize());
        assertEquals(32, c.numLayers());
        assertEquals(32, c.numHeads());
        assertEquals(8, c.numKvHeads());
        assertEquals(128, c.headDim(), "hidden / heads");
        assertEquals(4, c.kvGroups());
        assertEquals(1024, c.kvDim());
        assertEquals(1e-5, c.rmsNormEps());
        assertEquals(500000.0, c.ropeTheta());
        assertEquals(RopeScaling.llama3(8, 1, 4, 8192), c.ropeScaling());
        assertEquals(131072, c.maxPositionEmbeddings());
        assertFalse(c.tieWordEmbeddings());
        assertFalse(c.attentionBias());
        assertFalse(c.mlpBias());
        assertNull(c.slidingWindow());
        assertEquals(128000, c.bosTokenId());
        assertArrayEquals(new int[] {128001, 128008, 128009}, c.eosTokenIds());
        assertNull(c.padTokenId());
        assertEquals("bfloat16", c.torchDtype());
    }

    @Test
    void ropeParametersStyleAndExplicitHeadDim() throws Exception {
        ModelConfig c = ModelConfig.load(fixture("llama3.2-1b-rope-parameters.config.json"));
        assertEquals(500000.0, c.ropeTheta(), "rope_theta inside rope_parameters");
        assertEquals(RopeScaling.llama3(32, 1, 4, 8192), c.ropeScaling());
        assertEquals(64, c.headDim());
        assertTrue(c.tieWordEmbeddings());
        assertArrayEquals(new int[] {128001}, c.eosTokenIds());
        assertEquals("bfloat16", c.torchDtype(), "transformers 5 writes 'dtype'");
    }

    @Test
    void linearScalingOldTypeKeyAndDefaults() throws Exception {
        ModelConfig c = ModelConfig.load(fixture("llama2-7b-linear.config.json"));
        assertEquals(RopeScaling.linear(4), c.ropeScaling());
        assertEquals(10000.0, c.ropeTheta(), "transformers' default rope_theta");
        assertEquals(32, c.numKvHeads(), "num_key_value_heads defaults to num_attention_heads");
        assertEquals(0, c.padTokenId());
    }

    @Test
    void mistralSlidingWindow() throws Exception {
        ModelConfig c = ModelConfig.load(fixture("mistral-7b-v0.1.config.json"));
        assertEquals(Architecture.MISTRAL, c.architecture());
        assertEquals(4096, c.slidingWindow());
        assertEquals(8, c.numKvHeads());
        assertFalse(c.attentionBias());
        assertEquals(RopeScaling.NONE, c.ropeScaling());
    }

    @Test
    void qwen2HasQkvBiasButNoOProjBias() throws Exception {
        ModelConfig c = ModelConfig.load(fixture("qwen2.5-0.5b.config.json"));
        assertEquals(Architecture.QWEN2, c.architecture());
        assertTrue(c.attentionBias());
        assertFalse(c.oProjBias());
        assertEquals(64, c.headDim());
        assertEquals(2, c.numKvHeads());
        assertNull(c.slidingWindow(), "use_sliding_window=false");
        assertTrue(c.tieWordEmbeddings());
        assertEquals(1e6, c.ropeTheta());
        assertArrayEquals(new int[] {151643}, c.eosTokenIds());
    }

    @Test
    void qwen3HasQkNormsExplicitHeadDimAndNoBias() throws Exception {
        ModelConfig c = ModelConfig.load(fixture("qwen3-1.7b.config.json"));
        assertEquals(Architecture.QWEN3, c.architecture());
        assertTrue(c.architecture().qkNorm());
        assertEquals(151936, c.vocabSize());
        assertEquals(2048, c.hiddenSize());
        assertEquals(6144, c.intermediateSize());
        assertEquals(28, c.numLayers());
        assertEquals(16, c.numHeads());
        assertEquals(8, c.numKvHeads());
        assertEquals(128, c.headDim(), "explicit head_dim");
        assertEquals(2048, c.qDim());
        assertFalse(c.attentionBias(), "unlike Qwen2, no q/k/v bias");
        assertFalse(c.oProjBias());
        assertNull(c.slidingWindow());
        assertTrue(c.tieWordEmbeddings());
        assertEquals(1e6, c.ropeTheta());
        assertEquals(1.0 / Math.sqrt(128), c.attentionScale());
        assertEquals(1f, c.embedScale());
        assertEquals(0f, c.normOffset());
        assertFalse(c.sandwichNorms() || c.geluTanh());
        assertArrayEquals(new int[] {151645}, c.eosTokenIds());
        assertEquals(151643, c.bosTokenId());
        // head_dim need not be hidden / heads (Qwen3-4B: 2560 / 32 = 80, head_dim 128)
        ModelConfig four = ModelConfig.fromJson(
                "{\"architectures\":[\"Qwen3ForCausalLM\"],\"vocab_size\":151936,\"hidden_size\":2560,"
                        + "\"intermediate_size\":9728,\"num_hidden_layers\":36,\"num_attention_heads\":32,"
                        + "\"num_key_value_heads\":8,\"head_dim\":128}",
                "qwen3-4b");
        assertEquals(4096, four.qDim());
        assertEquals(10000.0, four.ropeTheta(), "Qwen3Config default");
        UnsupportedOperationException u = assertThrows(
                UnsupportedOperationException.class,
                () -> ModelConfig.fromJson(
                        "{\"architectures\":[\"Qwen3ForCausalLM\"],\"vocab_size\":8,\"hidden_size\":8,"
                                + "\"intermediate_size\":8,\"num_hidden_layers\":1,\"num_attention_heads\":2,"
                                + "\"use_sliding_window\":true}",
                        "q3"));
        assertTrue(u.getMessage().contains("use_sliding_window"), u.getMessage());
    }

    @Test
    void gemma3TextConfig() throws Exception {
        ModelConfig c = ModelConfig.load(fixture("gemma-3-1b-it.config.json"));
        assertEquals(Architecture.GEMMA3, c.architecture());
        assertEquals(262144, c.vocabSize());
        assertEquals(1152, c.hiddenSize());
        assertEquals(4, c.numHeads());
        assertEquals(1, c.numKvHeads());
        assertEquals(256, c.headDim());
        assertEquals(1024, c.qDim(), "head_dim * heads != hidden_size");
        assertTrue(c.tieWordEmbeddings(), "Gemma3TextConfig default");
        assertEquals(512, c.slidingWindow());
        // sliding_window_pattern 6: layers 5, 11, 17, 23 are global
        for (int l = 0; l < 26; l++) {
            assertEquals((l + 1) % 6 != 0, c.slidingLayer(l), "layer " + l);
            assertEquals(c.slidingLayer(l) ? 512 : Integer.MAX_VALUE, c.window(l));
            assertEquals(c.slidingLayer(l), c.localRope(l));
        }
        assertEquals(1e6, c.ropeTheta());
        assertEquals(10000.0, c.ropeLocalTheta());
        assertEquals(RopeScaling.NONE, c.ropeScaling());
        assertEquals(1.0 / 16, c.attentionScale(), "query_pre_attn_scalar 256");
        assertEquals((float) Math.sqrt(1152), c.embedScale());
        assertEquals(1f, c.normOffset(), "Gemma3RMSNorm multiplies by (1 + w)");
        assertTrue(c.sandwichNorms() && c.geluTanh() && c.architecture().qkNorm());
        assertArrayEquals(new int[] {1, 106}, c.eosTokenIds());
        assertEquals(2, c.bosTokenId());
        assertEquals(0, c.padTokenId());
        // the sliding layers' inverse frequencies use the local base, the global ones rope_theta
        assertArrayEquals(c.toBuilder().ropeTheta(10000.0).build().ropeInvFreq(), c.ropeInvFreq(0));
        assertArrayEquals(c.ropeInvFreq(), c.ropeInvFreq(5));
    }

    @Test
    void gemma3MultimodalConfigIsReadThroughItsTextConfig() throws Exception {
        ModelConfig c = ModelConfig.load(fixture("gemma-3-27b-it.config.json"));
        assertEquals(Architecture.GEMMA3, c.architecture());
        assertEquals(5376, c.hiddenSize());
        assertEquals(62, c.numLayers());
        assertEquals(32, c.numHeads());
        assertEquals(16, c.numKvHeads());
        assertEquals(128, c.headDim());
        assertEquals(1 / Math.sqrt(168), c.attentionScale(), "query_pre_attn_scalar 168, not head_dim 128");
        assertEquals(RopeScaling.linear(8), c.ropeScaling(), "the global layers' scaling");
        assertEquals(1024, c.slidingWindow());
        assertEquals(262208, c.vocabSize(), "Gemma3TextConfig default");
        assertEquals(131072, c.maxPositionEmbeddings(), "Gemma3TextConfig default");
        assertArrayEquals(new int[] {1, 106}, c.eosTokenIds(), "from the top level");
        assertEquals("bfloat16", c.torchDtype(), "from the top level");
        assertTrue(c.tieWordEmbeddings());
        // the sliding layers are unscaled, the global ones divided by 8
        double[] local = c.ropeInvFreq(0);
        double[] global = c.ropeInvFreq(5);
        assertEquals(
                (float) (c.toBuilder().ropeScaling(RopeScaling.NONE).build().ropeInvFreq()[3] / 8), global[3]);
        assertEquals(1.0, local[0]);
        // written back as a text model that reads to the same configuration
        ModelConfig back = ModelConfig.fromJson(c.toJson(), "rewritten");
        assertEquals(c, back);
        assertEquals(
                "Gemma3ForCausalLM",
                new ObjectMapper()
                        .readTree(c.toJson())
                        .get("architectures")
                        .get(0)
                        .asText());
    }

    @Test
    void gemma3TransformersFiveKeys() {
        // layer_types instead of a pattern, rope_parameters per layer type
        ModelConfig c = ModelConfig.fromJson(
                "{\"architectures\":[\"Gemma3ForCausalLM\"],\"vocab_size\":64,\"hidden_size\":16,"
                        + "\"intermediate_size\":32,\"num_hidden_layers\":3,\"num_attention_heads\":2,"
                        + "\"num_key_value_heads\":1,\"head_dim\":8,\"sliding_window\":4,"
                        + "\"layer_types\":[\"full_attention\",\"sliding_attention\",\"full_attention\"],"
                        + "\"rope_parameters\":{\"full_attention\":{\"rope_type\":\"linear\",\"factor\":4.0,"
                        + "\"rope_theta\":500000.0},\"sliding_attention\":{\"rope_type\":\"default\","
                        + "\"rope_theta\":20000.0}}}",
                "gemma3-v5");
        assertArrayEquals(new boolean[] {false, true, false}, c.slidingLayers());
        assertEquals(500000.0, c.ropeTheta());
        assertEquals(RopeScaling.linear(4), c.ropeScaling());
        assertEquals(20000.0, c.ropeLocalTheta());
        assertEquals(Integer.MAX_VALUE, c.window(0));
        assertEquals(4, c.window(1));
        assertEquals(c, ModelConfig.fromJson(c.toJson(), "rewritten"));
    }

    @Test
    void gemma3RefusesWhatItDoesNotImplement() {
        String head = "{\"architectures\":[\"Gemma3ForCausalLM\"],\"vocab_size\":64,\"hidden_size\":16,"
                + "\"intermediate_size\":32,\"num_hidden_layers\":2,\"num_attention_heads\":2,\"head_dim\":8,"
                + "\"num_key_value_heads\":1,";
        UnsupportedOperationException u = assertThrows(
                UnsupportedOperationException.class,
                () -> ModelConfig.fromJson(head + "\"final_logit_softcapping\":30.0}", "g2ish"));
        assertTrue(
                u.getMessage().contains("final_logit_softcapping 30.0")
                        && u.getMessage().contains("g2ish"),
                u.getMessage());
        u = assertThrows(
                UnsupportedOperationException.class,
                () -> ModelConfig.fromJson(head + "\"attn_logit_softcapping\":50.0}", "g"));
        assertTrue(u.getMessage().contains("attn_logit_softcapping"), u.getMessage());
        u = assertThrows(
                UnsupportedOperationException.class,
                () -> ModelConfig.fromJson(head + "\"hidden_activation\":\"gelu\"}", "g"));
        assertTrue(u.getMessage().contains("'gelu'"), u.getMessage());
        u = assertThrows(
                UnsupportedOperationException.class,
                () -> ModelConfig.fromJson(head + "\"use_bidirectional_attention\":true}", "g"));
        assertTrue(u.getMessage().contains("use_bidirectional_attention"), u.getMessage());
        BadInputException e = assertThrows(
                BadInputException.class,
                () -> ModelConfig.fromJson(head + "\"layer_types\":[\"sliding_attention\"]}", "g"));
        assertTrue(e.getMessage().contains("layer_types") && e.getMessage().contains("2"), e.getMessage());
        e = assertThrows(
                BadInputException.class,
                () -> ModelConfig.fromJson(
                        head + "\"layer_types\":[\"sliding_attention\",\"chunked_attention\"]}", "g"));
        assertTrue(e.getMessage().contains("layer_types[1]"), e.getMessage());
        // null soft-capping (as Gemma 3 writes it) is fine
        ModelConfig ok = ModelConfig.fromJson(head + "\"final_logit_softcapping\":null}", "g");
        assertEquals(Architecture.GEMMA3, ok.architecture());
    }

    @Test
    void realStories260KConfig() {
        ModelConfig c = ModelConfig.load(Assets.require("models/stories260K-hf/config.json"));
        ModelConfig want = ModelConfig.builder(Architecture.LLAMA)
                .vocabSize(512)
                .hiddenSize(64)
                .intermediateSize(172)
                .numLayers(5)
                .numHeads(8)
                .numKvHeads(4)
                .headDim(8)
                .maxPositionEmbeddings(512)
                .rmsNormEps(1e-5)
                .ropeTheta(10000)
                .tieWordEmbeddings(true)
                .bosTokenId(1)
                .eosTokenIds(2)
                .torchDtype("float32")
                .build();
        assertEquals(want, c);
    }

    @Test
    void ropeInvFreqMatchesTorchBitForBit() throws Exception {
        JsonNode golden = new ObjectMapper()
                .readTree(fixture("rope_inv_freq.json").toFile())
                .get("inv_freq");
        int cases = 0;
        for (var it = golden.fields(); it.hasNext(); ) {
            var e = it.next();
            ModelConfig c = e.getKey().equals("stories260K")
                    ? ModelConfig.load(Assets.require("models/stories260K-hf/config.json"))
                    : ModelConfig.load(fixture(e.getKey()));
            double[] got = c.ropeInvFreq();
            assertEquals(e.getValue().size(), got.length, e.getKey());
            for (int i = 0; i < got.length; i++) {
                float want = (float) e.getValue().get(i).doubleValue();
                float g = (float) got[i];
                assertEquals(g, got[i], "values are float32");
                assertEquals(
                        Float.floatToIntBits(want),
                        Float.floatToIntBits(g),
                        e.getKey() + "[" + i + "]: " + g + " vs torch " + want);
            }
            cases++;
        }
        assertEquals(6, cases);
    }

    @Test
    void llama3ScalingKeepsHighAndDividesLowFrequencies() throws Exception {
        ModelConfig c = ModelConfig.load(fixture("llama3.1-8b-instruct.config.json"));
        double[] scaled = c.ropeInvFreq();
        double[] plain = c.toBuilder().ropeScaling(RopeScaling.NONE).build().ropeInvFreq();
        assertEquals(plain[0], scaled[0], "wavelength 2pi < 8192/4: unchanged");
        assertEquals((float) (plain[63] / 8), scaled[63], 1e-12, "wavelength > 8192: divided by factor 8");
    }

    @Test
    void toJsonRoundTripsEveryArchitecture() throws Exception {
        for (String f : new String[] {
            "llama3.1-8b-instruct.config.json",
            "llama3.2-1b-rope-parameters.config.json",
            "llama2-7b-linear.config.json",
            "mistral-7b-v0.1.config.json",
            "qwen2.5-0.5b.config.json",
            "qwen3-1.7b.config.json",
            "gemma-3-1b-it.config.json"
        }) {
            ModelConfig c = ModelConfig.load(fixture(f));
            String json = c.toJson();
            assertEquals(c, ModelConfig.fromJson(json, f + " (re-written)"), f);
            JsonNode n = new ObjectMapper().readTree(json);
            assertEquals(
                    c.architecture().hfClass(), n.get("architectures").get(0).textValue());
            assertEquals(c.architecture().modelType(), n.get("model_type").textValue());
            assertEquals(
                    c.geluTanh() ? "gelu_pytorch_tanh" : "silu",
                    n.get(c.geluTanh() ? "hidden_activation" : "hidden_act").textValue());
        }
        ModelConfig tiny = ModelConfig.builder(Architecture.QWEN2)
                .vocabSize(64)
                .hiddenSize(16)
                .intermediateSize(40)
                .numLayers(2)
                .numHeads(4)
                .numKvHeads(2)
                .maxPositionEmbeddings(128)
                .build();
        assertEquals(4, tiny.headDim());
        assertEquals(tiny, ModelConfig.fromJson(tiny.toJson(), "tiny"));
    }

    @Test
    void badConfigsNameTheKeyAndTheFix() {
        BadInputException e = assertThrows(
                BadInputException.class,
                () -> ModelConfig.fromJson("{\"architectures\":[\"GPT2LMHeadModel\"]}", "cfg.json"));
        assertTrue(
                e.getMessage().contains("GPT2LMHeadModel")
                        && e.getMessage()
                                .contains("LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, "
                                        + "Gemma3ForCausalLM, Gemma3ForConditionalGeneration (text)")
                        && e.getMessage().contains("cfg.json"),
                e.getMessage());
        e = assertThrows(
                BadInputException.class,
                () -> ModelConfig.fromJson("{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":10}", "cfg.json"));
        assertTrue(e.getMessage().contains("\"hidden_size\"") && e.getMessage().contains("missing"), e.getMessage());
        e = assertThrows(
                BadInputException.class,
                () -> ModelConfig.fromJson(
                        "{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":\"10\"}", "cfg.json"));
        assertTrue(e.getMessage().contains("\"vocab_size\" is \"10\""), e.getMessage());
        e = assertThrows(BadInputException.class, () -> ModelConfig.fromJson(base("\"num_key_value_heads\":3"), "c"));
        assertTrue(e.getMessage().contains("not a multiple of num_key_value_heads 3"), e.getMessage());
        assertThrows(BadInputException.class, () -> ModelConfig.fromJson("{not json", "c"));
        UnsupportedOperationException u = assertThrows(
                UnsupportedOperationException.class,
                () -> ModelConfig.fromJson(base("\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4}"), "c"));
        assertTrue(
                u.getMessage().contains("'yarn'") && u.getMessage().contains("default, linear, llama3"),
                u.getMessage());
        u = assertThrows(
                UnsupportedOperationException.class, () -> ModelConfig.fromJson(base("\"hidden_act\":\"gelu\""), "c"));
        assertTrue(u.getMessage().contains("gelu"));
        u = assertThrows(
                UnsupportedOperationException.class,
                () -> ModelConfig.fromJson(base("\"quantization_config\":{\"quant_method\":\"gptq\"}"), "c"));
        assertTrue(u.getMessage().contains("gptq"), u.getMessage());
    }

    private static String base(String extra) {
        return "{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":64,\"hidden_size\":16,\"intermediate_size\":32,"
                + "\"num_hidden_layers\":1,\"num_attention_heads\":4," + extra + "}";
    }
}
