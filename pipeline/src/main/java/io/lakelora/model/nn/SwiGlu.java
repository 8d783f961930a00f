package io.lakelora.model.nn;

/** The gated activation of the LLaMA MLP: {@code h = silu(gate) * up}, silu(g) = g * sigmoid(g). */
public final class SwiGlu {
    private SwiGlu() {}

    /** @param h (N, F) output; gate, up (N, F) the two projections (kept by the caller as the cache) */
    public static void forward(float[] h, float[] gate, float[] up, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[i];
            float s = (float) (1.0 / (1.0 + Math.exp(-g)));
            h[i] = g * s * up[i];
        }
    }

    /**
     * Inverts {@code h = g * sigmoid(g) * u}: {@code du += dh * silu(g)}, {@code dg += dh * u * s * (1 + g * (1 - s))}.
     * Accumulates into dgate and dup.
     */
    public static void backward(float[] dgate, float[] dup, float[] dh, float[] gate, float[] up, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[i];
            float s = (float) (1.0 / (1.0 + Math.exp(-g)));
            dup[i] += dh[i] * g * s;
            dgate[i] += dh[i] * up[i] * s * (1f + g * (1f - s));
        }
    }
}
