package io.lakelora.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.lakelora.config.ConfigLoader;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class LoraConfigTest {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private static LoraConfig bind(String yaml) throws Exception {
        JsonNode tree = YAML.readTree(yaml);
        return ConfigLoader.bind(tree, LoraConfig.class, "test.yaml");
    }

    private static String errorOf(String yaml) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> bind(yaml));
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause())
            sb.append(t.getMessage()).append(" | ");
        return sb.toString();
    }

    @Test
    void defaultsAreThoseOfPeft() throws Exception {
        LoraConfig c = bind("{}");
        assertEquals(8, c.r());
        assertEquals(8.0, c.loraAlpha());
        assertEquals(0.0, c.loraDropout());
        assertEquals(EnumSet.of(TargetModule.Q, TargetModule.V), c.targets());
        assertFalse(c.useRslora());
        assertEquals(LoraConfig.InitKind.KAIMING, c.initKind());
        assertEquals(1.0, c.scaling());
    }

    @Test
    void bindsSnakeCaseKeysAndComputesScaling() throws Exception {
        LoraConfig c = bind("r: 64\nlora_alpha: 16\nlora_dropout: 0.05\ntarget_modules: [q_proj, k, down_proj]\n"
                + "init_lora_weights: gaussian\n");
        assertEquals(64, c.r());
        assertEquals(0.25, c.scaling());
        assertEquals(EnumSet.of(TargetModule.Q, TargetModule.K, TargetModule.DOWN), c.targets());
        assertEquals(LoraConfig.InitKind.GAUSSIAN, c.initKind());
        LoraConfig rs = bind("r: 16\nlora_alpha: 8\nuse_rslora: true\n");
        assertEquals(2.0, rs.scaling()); // 8 / sqrt(16)
    }

    @Test
    void allLinearExpandsToEverySevenModules() throws Exception {
        assertEquals(
                EnumSet.allOf(TargetModule.class),
                bind("target_modules: all-linear").targets());
        assertEquals(
                EnumSet.allOf(TargetModule.class),
                bind("target_modules: [all-linear]").targets());
    }

    @Test
    void initVariantsParse() throws Exception {
        assertEquals(
                LoraConfig.InitKind.LINEAR_DEFAULT,
                bind("init_lora_weights: false").initKind());
        assertEquals(LoraConfig.InitKind.PISSA, bind("init_lora_weights: pissa").initKind());
        LoraConfig n = bind("init_lora_weights: pissa_niter_4");
        assertEquals(LoraConfig.InitKind.PISSA_NITER, n.initKind());
        assertEquals(4, n.pissaNiter());
        LoraConfig l = bind("init_lora_weights: loftq\nloftq_iter: 5");
        assertEquals(LoraConfig.InitKind.LOFTQ, l.initKind());
        assertEquals(5, l.loftqIter());
    }

    @Test
    void badValuesAreClearErrors() {
        assertTrue(errorOf("r: 0").contains("lora.r must be a positive integer"), errorOf("r: 0"));
        assertTrue(errorOf("r: -4").contains("got -4"));
        assertTrue(errorOf("lora_alpha: 0").contains("lora_alpha must be > 0"));
        assertTrue(errorOf("lora_alpha: -1").contains("lora_alpha must be > 0"));
        assertTrue(errorOf("lora_dropout: 1.0").contains("lora_dropout must be in [0, 1)"));
        assertTrue(errorOf("lora_dropout: -0.1").contains("lora_dropout must be in [0, 1)"));
        String unknown = errorOf("target_modules: [q_proj, attn_proj]");
        assertTrue(unknown.contains("unknown LoRA target module 'attn_proj'"), unknown);
        assertTrue(unknown.contains("all-linear"), unknown);
        assertTrue(errorOf("target_modules: []").contains("target_modules is empty"));
        assertTrue(errorOf("init_lora_weights: olora").contains("expected true, false, gaussian, pissa"));
        assertTrue(errorOf("init_lora_weights: pissa_niter_x").contains("pissa_niter_"));
        assertTrue(errorOf("bias: all").contains("only 'none'"));
        assertTrue(errorOf("rank: 8").contains("unknown key 'rank'"));
    }

    @Test
    void programmaticConstructionValidatesToo() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> LoraConfig.of(0, 16, List.of("q_proj")));
        assertTrue(e.getMessage().contains("lora.r must be a positive integer"));
        assertThrows(IllegalArgumentException.class, () -> LoraConfig.of(8, 0, List.of("q_proj")));
    }

    @Test
    void serializesWithPeftKeys() throws Exception {
        LoraConfig c = bind("r: 4\nlora_alpha: 8\ntarget_modules: all-linear\ninit_lora_weights: pissa\n");
        JsonNode json = new ObjectMapper().readTree(ConfigLoader.toJson(c));
        assertEquals(4, json.get("r").asInt());
        assertEquals(8.0, json.get("lora_alpha").asDouble());
        assertEquals("all-linear", json.get("target_modules").get(0).asText());
        assertEquals("pissa", json.get("init_lora_weights").asText());
        assertFalse(json.has("targets"));
        // round trip through the binder
        assertEquals(
                c.toString(), ConfigLoader.bind(json, LoraConfig.class, "json").toString());
    }
}
