package io.lakelora.kernel;

import io.lakelora.quant.QuantType;
import io.lakelora.quant.QuantizedMatrix;
import java.util.Random;

/**
 * Random quantized matrices built directly through {@link QuantizedMatrix}'s factories (random codes and scales, not a
 * quantization of anything), for kernel warm-up, benchmarks and kernel tests. Double-quantized matrices use a simple
 * linear 256-entry nested code map in [-1, 1] with offset 0.5 (the layout is what matters to the kernels, not the map).
 */
public final class RandomWeights {
    private RandomWeights() {}

    /** A 4-bit (NF4 or FP4) matrix with random codes and absmax in [0.01, 1.01) or its double-quantized form. */
    public static QuantizedMatrix fourBit(
            Random rnd, QuantType type, int rows, int cols, int blocksize, boolean doubleQuant) {
        long n = Math.multiplyExact((long) rows, (long) cols);
        byte[] packed = new byte[Math.toIntExact((n + 1) / 2)];
        rnd.nextBytes(packed);
        int blocks = Math.toIntExact((n + blocksize - 1) / blocksize);
        if (!doubleQuant) {
            float[] absmax = new float[blocks];
            for (int i = 0; i < blocks; i++) absmax[i] = 0.01f + rnd.nextFloat();
            return QuantizedMatrix.fourBit(type, rows, cols, blocksize, packed, absmax);
        }
        int nestedBlocksize = 256;
        byte[] codes = new byte[blocks];
        rnd.nextBytes(codes);
        float[] nestedAbsmax = new float[(blocks + nestedBlocksize - 1) / nestedBlocksize];
        for (int i = 0; i < nestedAbsmax.length; i++) nestedAbsmax[i] = 0.05f + 0.45f * rnd.nextFloat();
        float[] nestedCode = new float[256];
        for (int i = 0; i < 256; i++) nestedCode[i] = i / 127.5f - 1f;
        return QuantizedMatrix.fourBitDoubleQuant(
                type, rows, cols, blocksize, packed, codes, nestedAbsmax, nestedCode, nestedBlocksize, 0.5f);
    }

    /** An INT8 matrix with random values in [-127, 127] and row absmax in [0.01, 1.01). */
    public static QuantizedMatrix int8(Random rnd, int rows, int cols) {
        byte[] q = new byte[Math.multiplyExact(rows, cols)];
        for (int i = 0; i < q.length; i++) q[i] = (byte) (rnd.nextInt(255) - 127);
        float[] scale = new float[rows];
        for (int i = 0; i < rows; i++) scale[i] = 0.01f + rnd.nextFloat();
        return QuantizedMatrix.int8(rows, cols, q, scale);
    }

    /** Uniform floats in [-1, 1). */
    public static float[] floats(Random rnd, int len) {
        float[] x = new float[len];
        for (int i = 0; i < len; i++) x[i] = rnd.nextFloat() * 2f - 1f;
        return x;
    }
}
