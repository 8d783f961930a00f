package io.lakelora.model;

import io.lakelora.quant.QuantType;
import io.lakelora.quant.QuantizedMatrix;

/**
 * A plain NF4 blockwise quantizer for tests (absmax per 64 values, nearest codebook entry, first element in the high
 * nibble; no double quantization). Only used to give the model realistic quantized weights; the bit-exact
 * bitsandbytes quantizer lives in io.lakelora.quant.
 */
final class TestQuant {
    private TestQuant() {}

    static QuantizedMatrix nf4(float[] w, int rows, int cols) {
        float[] code = QuantType.NF4.codebook();
        int n = rows * cols;
        int bs = 64;
        float[] absmax = new float[(n + bs - 1) / bs];
        byte[] packed = new byte[(n + 1) / 2];
        for (int b = 0; b < absmax.length; b++) {
            float m = 0;
            for (int i = b * bs; i < Math.min(n, (b + 1) * bs); i++) m = Math.max(m, Math.abs(w[i]));
            absmax[b] = m;
        }
        for (int i = 0; i < n; i++) {
            float am = absmax[i / bs];
            float x = am == 0 ? 0 : w[i] / am;
            int best = 0;
            for (int c = 1; c < 16; c++) if (Math.abs(code[c] - x) < Math.abs(code[best] - x)) best = c;
            packed[i / 2] |= (byte) ((i % 2 == 0) ? best << 4 : best);
        }
        return QuantizedMatrix.fourBit(QuantType.NF4, rows, cols, bs, packed, absmax);
    }
}
