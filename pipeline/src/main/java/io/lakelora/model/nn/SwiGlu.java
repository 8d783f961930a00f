package io.lakelora.model.nn;

/** The gated activation of the LLaMA MLP: {@code h = silu(gate) * up}, silu(g) = g * sigmoid(g). */
public final class SwiGlu {
    private SwiGlu() {}

    /** @param h (N, F) output (may alias gate); gate, up (N, F) the two projections (the caller keeps them as the cache) */
    public static void forward(float[] h, float[] gate, float[] up, int n) {
        VecMath.swiglu(h, gate, up, n);
    }

    /**
     * Inverts {@code h = g * sigmoid(g) * u}: {@code du = dh * silu(g)}, {@code dg = dh * u * s * (1 + g * (1 - s))}.
     * Overwrites dgate and dup.
     */
    public static void backward(float[] dgate, float[] dup, float[] dh, float[] gate, float[] up, int n) {
        VecMath.swigluBackward(dgate, dup, dh, gate, up, n);
    }

    /** {@link #forward} over elements [off, off+n) (off a multiple of {@link Par#ALIGN} when a range is split). */
    public static void forward(float[] h, float[] gate, float[] up, int off, int n) {
        VecMath.swiglu(h, gate, up, off, n);
    }

    /** {@link #backward} over elements [off, off+n) (off a multiple of {@link Par#ALIGN} when a range is split). */
    public static void backward(float[] dgate, float[] dup, float[] dh, float[] gate, float[] up, int off, int n) {
        VecMath.swigluBackward(dgate, dup, dh, gate, up, off, n);
    }
}
