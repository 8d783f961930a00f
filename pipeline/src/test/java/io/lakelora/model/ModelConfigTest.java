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
 * transformers 5's rope_parameters style, a linear-scaled Llama-2, Mistral-7B-v0.1, Qwen2.5-0.5B) and the real
 * stories260K config. inv_freq goldens: fixtures/model/make_rope_fixture.py (torch float32, transformers' formulas).
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
            "qwen2.5-0.5b.config.json"
        }) {
            ModelConfig c = ModelConfig.load(fixture(f));
            String json = c.toJson();
            assertEquals(c, ModelConfig.fromJson(json, f + " (re-written)"), f);
            JsonNode n = new ObjectMapper().readTree(json);
            assertEquals(
                    c.architecture().hfClass(), n.get("architectures").get(0).textValue());
            assertEquals(c.architecture().modelType(), n.get("model_type").textValue());
            assertEquals("silu", n.get("hidden_act").textValue());
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
                        && e.getMessage().contains("LlamaForCausalLM, " + "MistralForCausalLM, Qwen2ForCausalLM")
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
