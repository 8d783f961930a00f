package io.lakelora.model.nn;

import io.lakelora.kernel.Kernels;

/**
 * The gated activation of the LLaMA MLP: {@code h = silu(gate) * up}, silu(g) = g * sigmoid(g), computed by the
 * backend ({@link io.lakelora.kernel.MathOps#swiglu}).
 */
public final class SwiGlu {
    private SwiGlu() {}

    /** @param h (N, F) output (may alias gate); gate, up (N, F) the two projections (the caller keeps them as the cache) */
    public static void forward(Kernels kern, float[] h, float[] gate, float[] up, int n) {
        forward(kern, h, gate, up, 0, n);
    }

    /**
     * Inverts {@code h = g * sigmoid(g) * u}: {@code du = dh * silu(g)}, {@code dg = dh * u * s * (1 + g * (1 - s))}.
     * Overwrites dgate and dup.
     */
    public static void backward(Kernels kern, float[] dgate, float[] dup, float[] dh, float[] gate, float[] up, int n) {
        backward(kern, dgate, dup, dh, gate, up, 0, n);
    }

    /** {@link #forward} over elements [off, off+n) (off a multiple of {@link Par#ALIGN} when a range is split). */
    public static void forward(Kernels kern, float[] h, float[] gate, float[] up, int off, int n) {
        kern.math().swiglu(h, gate, up, off, n);
    }

    /** {@link #backward} over elements [off, off+n) (off a multiple of {@link Par#ALIGN} when a range is split). */
    public static void backward(
            Kernels kern, float[] dgate, float[] dup, float[] dh, float[] gate, float[] up, int off, int n) {
        kern.math().swigluBackward(dgate, dup, dh, gate, up, off, n);
    }
}
