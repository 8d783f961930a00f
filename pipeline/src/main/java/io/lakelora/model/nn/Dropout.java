package io.lakelora.model.nn;

/**
 * LoRA dropout ({@code nn.Dropout(p)} on the LoRA input: keep with probability 1-p, scale kept values by 1/(1-p)) with
 * a counter-based mask: element i of stream {@code seed} is kept iff {@code uniform(mix(seed, i)) >= p}. The mask is a pure
 * function of (seed, i), so the backward (and activation recomputation) regenerates it instead of storing it, and the
 * result does not depend on thread scheduling.
 */
public final class Dropout {
    private Dropout() {}

    /** The stream seed for one (layer, module) LoRA input under a step's dropout seed. */
    public static long streamSeed(long seed, int layer, int module) {
        return mix(seed ^ mix(0x9E3779B97F4A7C15L * (1L + layer * 16L + module)));
    }

    /** Whether element {@code i} of stream {@code seed} is kept at drop probability {@code p}. */
    public static boolean keep(long seed, long i, float p) {
        long z = mix(seed + 0xBF58476D1CE4E5B9L * (i + 1));
        double u = (z >>> 11) * 0x1.0p-53;
        return u >= p;
    }

    /** {@code xd[i] = keep(i) ? x[i] / (1 - p) : 0} for n elements. */
    public static void forward(float[] xd, float[] x, int n, float p, long seed) {
        float scale = 1f / (1f - p);
        for (int i = 0; i < n; i++) xd[i] = keep(seed, i, p) ? x[i] * scale : 0f;
    }

    /** Inverts the forward: {@code dx[i] += keep(i) ? dxd[i] / (1 - p) : 0}. Accumulates. */
    public static void backward(float[] dx, float[] dxd, int n, float p, long seed) {
        float scale = 1f / (1f - p);
        for (int i = 0; i < n; i++) if (keep(seed, i, p)) dx[i] += dxd[i] * scale;
    }

    // SplitMix64 finalizer
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
