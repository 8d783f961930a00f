package io.lakelora.lora;

import io.lakelora.quant.QuantType;
import io.lakelora.quant.Quantizer;

/**
 * Quantize then de-quantize a row-major [rows, cols] fp32 matrix: what a 4-bit store of {@code w} computes with.
 * LoftQ alternates it with a low-rank fit of the residual; initialisation reports use it for the plain-NF4 error.
 */
@FunctionalInterface
public interface QuantRoundTrip {
    float[] apply(float[] w, int rows, int cols);

    /**
     * bitsandbytes NF4, blocksize 64, no double quantization: what PEFT's {@code loftq_init} uses
     * ({@code Params4bit(compress_statistics=False, quant_type="nf4")}).
     */
    static QuantRoundTrip nf4() {
        Quantizer q = new Quantizer(QuantType.NF4, Quantizer.DEFAULT_BLOCKSIZE, false);
        return (w, rows, cols) -> q.quantize(w, rows, cols).dequantize();
    }
}
