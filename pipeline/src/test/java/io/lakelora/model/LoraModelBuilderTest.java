package io.lakelora.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.TargetModule;
import io.lakelora.quant.Quantizer;
import io.lakelora.train.TrainConfig;
import io.lakelora.util.Assets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The training model builder on stories260K: NF4 base, and PiSSA rewriting the base before quantization. */
class LoraModelBuilderTest {
    private static final Path MODEL = Assets.require("models/stories260K-hf");

    @Test
    void pissaStoresTheQuantizedResidualAndQuantizesEverythingElseAsUsual() {
        TrainConfig cfg = TrainConfig.load(
                List.of(),
                List.of(
                        "lora.r=4",
                        "lora.lora_alpha=8",
                        "lora.target_modules=[q_proj, down_proj]",
                        "lora.init_lora_weights=pissa",
                        "quant=nf4"));
        LoraModelBuilder.Built b = LoraModelBuilder.build(MODEL, LoraModelBuilder.Spec.of(cfg), cfg.seed());
        assertEquals(10, b.initReport().modules().size()); // 5 layers x 2 modules
        System.out.printf(
                "stories260K PiSSA r=4 on q_proj+down_proj: init error %.5f vs plain NF4 %.5f%n",
                b.initReport().meanInit(), b.initReport().meanPlain());
        assertTrue(
                b.initReport().meanInit() < b.initReport().meanPlain(),
                b.initReport().toString());

        LlamaWeights fp32 = LlamaLoader.load(MODEL, null);
        LlamaWeights built = ((LoraLlama) b.model()).weights();
        AdapterLayout layout = b.model().layout();
        Quantizer q = Quantizer.qlora();
        double s = 2.0;
        for (int l = 0; l < 5; l++) {
            for (TargetModule m : TargetModule.values()) {
                float[] w = fp32.layer(l).linear(m).weightFp32();
                int out = fp32.layer(l).linear(m).outFeatures();
                int in = fp32.layer(l).linear(m).inFeatures();
                AdapterLayout.Tensor a = layout.find(l, m, true);
                if (a != null) { // residual W - s B A (PiSSA), then the run's NF4 + double quant
                    AdapterLayout.Tensor bt = layout.find(l, m, false);
                    float[] p = b.initialParams();
                    for (int i = 0; i < out; i++) {
                        for (int j = 0; j < in; j++) {
                            double ba = 0;
                            for (int k = 0; k < 4; k++)
                                ba += (double) p[bt.offset() + i * 4 + k] * p[a.offset() + k * in + j];
                            w[i * in + j] = (float) (w[i * in + j] - s * ba);
                        }
                    }
                }
                assertArrayEquals(
                        q.quantize(w, out, in).dequantize(),
                        built.layer(l).linear(m).weightFp32(),
                        1e-6f,
                        "layer " + l + " " + m);
            }
        }
    }
}
