package io.lakelora.cli;

import io.lakelora.model.LlamaLoader;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.LoraAdapter;
import io.lakelora.model.WeightQuantizer;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.quant.QuantType;
import io.lakelora.quant.Quantizer;
import java.nio.file.Path;

/** Shared option handling of the model commands ({@code --quant}, {@code --adapter}). */
final class ModelLoading {
    private ModelLoading() {}

    /** The quantizer for {@code --quant}: null for none; NF4 uses QLoRA's recipe (blocksize 64, double quantization). */
    static WeightQuantizer quantizer(QuantType type) {
        return switch (type) {
            case NONE -> null;
            case NF4 -> Quantizer.qlora()::quantize;
            default -> throw new IllegalArgumentException("--quant must be none or nf4, got " + type.id());
        };
    }

    /** Loads the base model, quantizing its linear layers as {@code --quant} says, with a progress line on stderr. */
    static LlamaWeights loadWeights(Path model, String quant) {
        QuantType type = QuantType.parse(quant);
        QuantType stored = LlamaLoader.storedQuantization(model);
        if (stored != null && stored != type) {
            throw new IllegalArgumentException(
                    "model " + model + " is stored quantized as " + stored.id() + " but --quant " + type.id()
                            + " was asked. Fix: pass --quant " + stored.id() + ", or use the original fp32/bf16 model");
        }
        WeightQuantizer q = stored == null ? quantizer(type) : null;
        long t0 = System.nanoTime();
        LlamaWeights w = LlamaLoader.load(model, q);
        System.err.printf(
                "[lakelora] loaded %s (%s, %.1f MB resident) in %.1f s%n",
                model, type.id(), w.residentBytes() / 1e6, (System.nanoTime() - t0) / 1e9);
        return w;
    }

    /** The PEFT adapter in {@code dir} for {@code weights}, or null when no {@code --adapter} was given. */
    static LoraAdapter loadAdapter(Path dir, LlamaWeights weights) {
        if (dir == null) return null;
        LoraAdapter a = PeftAdapter.loadForInference(dir, weights.arch());
        System.err.printf(
                "[lakelora] adapter %s: r=%d, scaling %.4g, %d tensors on %s%n",
                dir,
                a.spec().r(),
                a.spec().scaling(),
                a.layout().tensors().size(),
                a.spec().targets());
        return a;
    }
}
