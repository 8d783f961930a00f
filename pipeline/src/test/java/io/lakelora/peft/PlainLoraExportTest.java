package io.lakelora.peft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.error.BadInputException;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.AdapterState;
import io.lakelora.lora.LoraConfig;
import io.lakelora.lora.TargetModule;
import io.lakelora.util.Rng;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The PiSSA/LoftQ to plain LoRA conversion (PEFT's {@code subtract_mutated_init}: {@code A' = cat([A, A0], 0)},
 * {@code B' = cat([B, -B0], 1)}, r and alpha doubled) and the refusal to import unconverted adapters.
 */
class PlainLoraExportTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static float[] random(int n, long seed) {
        Rng rng = new Rng(seed);
        float[] p = new float[n];
        for (int i = 0; i < n; i++) p[i] = (float) rng.nextGaussian();
        return p;
    }

    /** scaling * B A of one module, from the slab, in double (the definition, written out). */
    private static double[] delta(float[] p, AdapterLayout layout, int l, TargetModule m, double scaling) {
        AdapterLayout.Tensor a = layout.find(l, m, true);
        AdapterLayout.Tensor b = layout.find(l, m, false);
        int r = a.rows();
        int in = a.cols();
        int out = b.rows();
        double[] d = new double[out * in];
        for (int i = 0; i < out; i++) {
            for (int j = 0; j < in; j++) {
                double s = 0;
                for (int k = 0; k < r; k++) s += (double) p[b.offset() + i * r + k] * p[a.offset() + k * in + j];
                d[i * in + j] = scaling * s;
            }
        }
        return d;
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void convertedAdapterCarriesTheTrainedUpdateRelativeToTheInit(boolean rslora) {
        LoraConfig cfg = LoraConfig.of(4, 16, List.of("q_proj", "o_proj", "down_proj"))
                .withInit("pissa")
                .withRslora(rslora)
                .withDropout(0.05);
        AdapterLayout layout = PeftAdapter.layoutFor(PeftAdapterTest.MODEL, cfg);
        float[] initial = random(layout.size(), 1);
        float[] trained = random(layout.size(), 2);

        PlainLoraExport.Converted c = PlainLoraExport.toPlainLora(PeftAdapterTest.MODEL, cfg, layout, trained, initial);
        LoraConfig p = c.config();
        assertEquals(8, p.r());
        // PEFT's save_pretrained: lora_alpha *= 2, or *= 2 ** 0.5 with rsLoRA, so the scaling stays
        assertEquals(rslora ? 16 * Math.sqrt(2) : 32.0, p.loraAlpha(), 1e-12);
        assertEquals(cfg.scaling(), p.scaling(), 1e-12 * cfg.scaling());
        assertEquals(rslora, p.useRslora());
        assertEquals(Boolean.TRUE, p.initLoraWeights());
        assertEquals(LoraConfig.InitKind.KAIMING, p.initKind());
        assertEquals(cfg.targets(), p.targets());
        assertEquals(0.05, p.loraDropout());
        assertEquals(c.layout().size(), c.params().length);
        assertEquals(2 * layout.size(), c.layout().size());

        for (int l = 0; l < layout.numLayers(); l++) {
            for (TargetModule m : cfg.targets()) {
                // s' B' A' = s (B A - B0 A0), element by element
                double[] got = delta(c.params(), c.layout(), l, m, p.scaling());
                double[] want = delta(trained, layout, l, m, cfg.scaling());
                double[] init = delta(initial, layout, l, m, cfg.scaling());
                for (int i = 0; i < got.length; i++) {
                    double w = want[i] - init[i];
                    assertEquals(w, got[i], 1e-5 * (Math.abs(w) + 1), "layer " + l + " " + m + " element " + i);
                }
                // PEFT's tensor layout: A' rows are [A; A0], B' columns are [B, -B0]
                AdapterLayout.Tensor a = layout.find(l, m, true);
                AdapterLayout.Tensor b = layout.find(l, m, false);
                float[] a2 = AdapterState.copyOf(c.params(), c.layout().find(l, m, true));
                float[] b2 = AdapterState.copyOf(c.params(), c.layout().find(l, m, false));
                assertArrayEquals(AdapterState.copyOf(trained, a), java.util.Arrays.copyOfRange(a2, 0, a.size()));
                assertArrayEquals(
                        AdapterState.copyOf(initial, a), java.util.Arrays.copyOfRange(a2, a.size(), 2 * a.size()));
                assertEquals(trained[b.offset() + 4 * 2 + 3], b2[2 * 8 + 3]); // B[2, 3]
                assertEquals(-initial[b.offset() + 4 * 2 + 3], b2[2 * 8 + 4 + 3]); // -B0[2, 3]
            }
        }
    }

    @Test
    void saveConvertsOnlyTheBaseRewritingInits() throws Exception {
        LoraConfig plain = LoraConfig.of(4, 8, List.of("all-linear"));
        AdapterLayout layout = PeftAdapter.layoutFor(PeftAdapterTest.MODEL, plain);
        float[] trained = random(layout.size(), 3);
        float[] initial = random(layout.size(), 4);

        Path asIs = dir.resolve("plain");
        assertEquals(plain, PlainLoraExport.save(asIs, PeftAdapterTest.MODEL, plain, layout, trained, initial, "m"));
        PeftAdapter.Loaded l = PeftAdapter.load(asIs, PeftAdapterTest.MODEL);
        assertEquals(4, l.config().r());
        assertArrayEquals(trained, l.params());

        for (String init : List.of("pissa", "pissa_niter_2", "loftq")) {
            LoraConfig cfg = plain.withInit(init);
            Path d = dir.resolve(init);
            LoraConfig written = PlainLoraExport.save(d, PeftAdapterTest.MODEL, cfg, layout, trained, initial, "m");
            assertEquals(8, written.r());
            JsonNode json = JSON.readTree(d.resolve(PeftAdapter.CONFIG_FILE).toFile());
            assertTrue(json.get("init_lora_weights").asBoolean(), json.toString());
            assertEquals(16, json.get("lora_alpha").asInt(), json.toString());
            assertEquals(8, json.get("r").asInt(), json.toString());
            assertEquals(0, json.get("loftq_config").size(), json.toString());
            PeftAdapter.Loaded back = PeftAdapter.load(d, PeftAdapterTest.MODEL); // imports as a plain LoRA
            assertEquals(8, back.config().r());
            assertEquals(cfg.scaling(), back.config().scaling(), 1e-12);
        }
        assertThrows(
                IllegalArgumentException.class,
                () -> PlainLoraExport.toPlainLora(PeftAdapterTest.MODEL, plain, layout, trained, initial));
    }

    @ParameterizedTest
    @ValueSource(strings = {"pissa", "pissa_niter_4", "loftq", "olora", "corda", "loftq_config"})
    void importingAnUnconvertedAdapterIsABadInputErrorThatSaysHowToConvert(String kind) throws Exception {
        LoraConfig cfg = LoraConfig.of(4, 8, List.of("q_proj"));
        AdapterLayout layout = PeftAdapter.layoutFor(PeftAdapterTest.MODEL, cfg);
        PeftAdapter.save(dir, cfg, layout, random(layout.size(), 5), "m");
        // as PEFT writes a PiSSA/LoftQ/OLoRA/CorDA adapter saved without path_initial_model_for_weight_conversion
        Path file = dir.resolve(PeftAdapter.CONFIG_FILE);
        ObjectNode json = (ObjectNode) JSON.readTree(file.toFile());
        if (kind.equals("loftq_config")) {
            json.putObject("loftq_config").put("loftq_bits", 4).put("loftq_iter", 1);
        } else {
            json.put("init_lora_weights", kind);
        }
        Files.writeString(file, JSON.writeValueAsString(json));

        BadInputException e = assertThrows(BadInputException.class, () -> PeftAdapter.load(dir, PeftAdapterTest.MODEL));
        String msg = e.getMessage();
        assertTrue(msg.contains(file.toString()), msg);
        assertTrue(msg.contains(kind.equals("loftq_config") ? "loftq_config is {" : "'" + kind + "'"), msg);
        assertTrue(msg.contains("rerun the same train-local command"), msg);
        assertTrue(msg.contains("path_initial_model_for_weight_conversion"), msg);
    }
}
