package io.lakelora.quant;

import java.util.Arrays;

/**
 * bitsandbytes' signed 8-bit "dynamic" code map and its encoder: the codebook in which double quantization stores the
 * 4-bit absmax values ({@code create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8)} in
 * {@code bitsandbytes/functional.py}), and the nearest-value search of its CUDA kernel ({@code dQuantize<0>} in
 * {@code csrc/kernels.cu}).
 *
 * <p>Construction, as bitsandbytes does it: for exponent {@code i = 0..6}, take {@code 2^i + 1} boundaries
 * {@code torch.linspace(0.1, 1, 2^i + 1)} (fp32), the means of adjacent boundaries, scale them by {@code 10^(i-6)};
 * add the negated copies, 0 and 1.0; sort. That gives 127 negative values (down to -0.99296874), 0 at index 127,
 * 127 positive values and 1.0 at index 255.
 *
 * <p>The low bit of some entries depends on how the PyTorch build evaluates fp32 {@code linspace}. This class follows
 * PyTorch's CPU kernel on x86-64 (AVX2 dispatch: 8-lane vectors, two per loop step, contracted multiply-add for each
 * vector's first element and the scalar tail), checked bit for bit against PyTorch 1.13.1
 * ({@code src/test/python/quant_reference.py} writes the fixture). A checkpoint always carries its own map
 * ({@code nested_quant_map}), so maps made by other builds still load exactly.
 */
public final class DynamicMap {
    private DynamicMap() {}

    /** Number of entries of an 8-bit code map. */
    public static final int SIZE = 256;

    private static final float[] SIGNED = buildSigned();
    private static final float[] UNSIGNED = buildUnsigned();

    /** The 256 sorted fp32 values of the signed dynamic map (a copy). */
    public static float[] signed() {
        return SIGNED.clone();
    }

    /**
     * The 256 sorted fp32 values of the unsigned dynamic map, {@code create_dynamic_map(signed=False)}: for exponent
     * {@code i = 0..6}, the means of {@code torch.linspace(0.1, 1, 2^(i+1) + 1)} scaled by {@code 10^(i-6)} (twice as
     * many per exponent as the signed map, no negatives), plus 0 and 1.0; sorted. 0 is at index 0, 1.0 at index 255.
     * bitsandbytes' 8-bit optimizers keep the second Adam moment in it (a copy).
     */
    public static float[] unsigned() {
        return UNSIGNED.clone();
    }

    private static float[] buildUnsigned() {
        double[] scales = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0};
        float[] data = new float[SIZE];
        int n = 0;
        for (int i = 0; i < scales.length; i++) {
            float[] boundaries = torchLinspace(0.1f, 1.0f, (1 << (i + 1)) + 1);
            float scale = (float) scales[i];
            for (int j = 0; j + 1 < boundaries.length; j++) {
                data[n++] = scale * ((boundaries[j] + boundaries[j + 1]) / 2.0f);
            }
        }
        data[n++] = 0f;
        data[n++] = 1.0f;
        if (n != SIZE) throw new IllegalStateException("unsigned dynamic map has " + n + " entries, expected " + SIZE);
        Arrays.sort(data);
        return data;
    }

    private static float[] buildSigned() {
        // 10^(i-6) as Python evaluates 10 ** (i - 6) (a double), cast to fp32 by the tensor multiply.
        double[] scales = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0};
        float[] data = new float[SIZE];
        int n = 0;
        for (int i = 0; i < scales.length; i++) {
            float[] boundaries = torchLinspace(0.1f, 1.0f, (1 << i) + 1);
            float scale = (float) scales[i];
            for (int j = 0; j + 1 < boundaries.length; j++) {
                float mean = (boundaries[j] + boundaries[j + 1]) / 2.0f;
                data[n++] = scale * mean;
                data[n++] = -scale * mean;
            }
        }
        data[n++] = 0f;
        data[n++] = 1.0f;
        if (n != SIZE) throw new IllegalStateException("dynamic map has " + n + " entries, expected " + SIZE);
        Arrays.sort(data);
        return data;
    }

    /**
     * fp32 {@code torch.linspace(start, end, steps)} as PyTorch's x86-64 CPU kernel computes it: the first half counts
     * up from {@code start}, the second half down from {@code end}; runs of 16 go through two 8-lane vectors whose
     * first lane is a fused multiply-add and whose other lanes add {@code k * step}; the tail is scalar, fused.
     */
    static float[] torchLinspace(float start, float end, int steps) {
        float[] out = new float[steps];
        if (steps == 1) {
            out[0] = start;
            return out;
        }
        final int lanes = 8;
        float step = (end - start) / (steps - 1);
        int i = 0;
        for (; i + 2 * lanes <= steps; i += 2 * lanes) {
            for (int v = 0; v < 2; v++) {
                int idx = i + v * lanes;
                float base = linspaceScalar(start, end, step, steps, idx);
                out[idx] = base;
                for (int k = 1; k < lanes; k++) out[idx + k] = base + k * step;
            }
        }
        for (; i < steps; i++) out[i] = linspaceScalar(start, end, step, steps, i);
        return out;
    }

    private static float linspaceScalar(float start, float end, float step, int steps, int idx) {
        return idx < steps / 2 ? Math.fma(step, (float) idx, start) : Math.fma(-step, (float) (steps - idx - 1), end);
    }

    /**
     * The index of the code nearest to {@code x}, decided exactly as bitsandbytes' CUDA kernel {@code dQuantize<0>}
     * decides it: a 7-step binary search over the odd indices brackets x between {@code code[lower]} and
     * {@code code[upper]} around an even index {@code pivot}, then fp32 midpoints {@code (a + b) * 0.5f} pick among the
     * three; a value exactly on a midpoint goes to the even (pivot) index. NaN encodes as 0.
     *
     * @param code 256 sorted values
     */
    public static int encode(float[] code, float x) {
        int pivot = 127;
        int upperPivot = 255;
        int lowerPivot = 0;
        float val = code[pivot];
        for (int i = 64; i > 0; i >>= 1) {
            if (x > val) {
                lowerPivot = pivot;
                pivot += i;
            } else {
                upperPivot = pivot;
                pivot -= i;
            }
            val = code[pivot];
        }
        if (x > val) {
            float midpoint = (code[upperPivot] + val) * 0.5f;
            return x > midpoint ? upperPivot : pivot;
        }
        float midpoint = (code[lowerPivot] + val) * 0.5f;
        return x < midpoint ? lowerPivot : pivot;
    }
}
