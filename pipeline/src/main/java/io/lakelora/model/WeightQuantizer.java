package io.lakelora.model;

import io.lakelora.quant.QuantizedMatrix;

/** Quantizes one fp32 linear weight W[rows, cols] (row-major) right after it is read, so the fp32 copy can be dropped. */
@FunctionalInterface
public interface WeightQuantizer {
    QuantizedMatrix quantize(float[] weight, int rows, int cols);
}
