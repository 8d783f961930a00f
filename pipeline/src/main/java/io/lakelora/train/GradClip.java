package io.lakelora.train;

/**
 * Global-norm gradient clipping with {@code torch.nn.utils.clip_grad_norm_} semantics: the L2 norm over the whole slab,
 * {@code coef = max_norm / (norm + 1e-6)} clamped to at most 1, every gradient multiplied by coef.
 */
public final class GradClip {
    private GradClip() {}

    /** The L2 norm of {@code g}, accumulated in double. */
    public static double norm(float[] g) {
        double s = 0;
        for (float x : g) s += (double) x * x;
        return Math.sqrt(s);
    }

    /**
     * Clips {@code g} in place to global norm {@code maxNorm} (no clipping when maxNorm <= 0) and returns the norm
     * before clipping.
     */
    public static double clip(float[] g, double maxNorm) {
        double total = norm(g);
        if (maxNorm <= 0) return total;
        // torch: clip_coef = max_norm / (total_norm + 1e-6) in fp32 (max_norm * reciprocal), clamp(max=1)
        float denom = (float) total + 1e-6f;
        float coef = (1f / denom) * (float) maxNorm;
        if (coef < 1f) {
            for (int i = 0; i < g.length; i++) g[i] *= coef;
        }
        return total;
    }
}
