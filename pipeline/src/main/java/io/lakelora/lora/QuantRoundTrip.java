package io.lakelora.lora;

/**
 * Quantize then de-quantize a row-major [rows, cols] fp32 matrix: what a 4-bit store of {@code w} computes with.
 * LoftQ alternates it with a low-rank fit of the residual; initialisation reports use it for the plain-NF4 error.
 */
@FunctionalInterface
public interface QuantRoundTrip {
    float[] apply(float[] w, int rows, int cols);
}
