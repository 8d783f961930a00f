package io.lakelora.model.cli;

import io.lakelora.model.WeightQuantizer;
import io.lakelora.quant.QuantType;

/** Shared option handling of the model commands. */
final class ModelLoading {
    private ModelLoading() {}

    /** The quantizer for {@code --quant}: null for none; NF4 uses QLoRA's recipe (blocksize 64, double quantization). */
    static WeightQuantizer quantizer(QuantType type) {
        return switch (type) {
            case NONE -> null;
            default -> throw new UnsupportedOperationException("--quant " + type.id() + " is not available yet: the "
                    + "quantizer has not landed in this build. Fix: use --quant none");
        };
    }
}
