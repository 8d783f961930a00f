package io.lakelora.model.nn;

import io.lakelora.kernel.Kernels;

/**
 * Gemma's gated MLP activation: {@code h = gelu_tanh(gate) * up} with PyTorch's tanh approximation
 * ({@code gelu_pytorch_tanh}: {@code 0.5 g (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3)))}), computed by the backend
 * ({@link io.lakelora.kernel.MathOps#geluTanhGate}). The counterpart of {@link SwiGlu}.
 */
public final class GeluTanhGate {
    private GeluTanhGate() {}

    /**
     * h (N, F) over elements [off, off+n) (may alias gate); gate, up (N, F) the two projections, kept by the caller as
     * the cache. {@code off} a multiple of {@link Par#ALIGN} when a range is split.
     */
    public static void forward(Kernels kern, float[] h, float[] gate, float[] up, int off, int n) {
        kern.math().geluTanhGate(h, gate, up, off, n);
    }

    /** Inverts {@link #forward} over [off, off+n), OVERWRITING dgate and dup. */
    public static void backward(
            Kernels kern, float[] dgate, float[] dup, float[] dh, float[] gate, float[] up, int off, int n) {
        kern.math().geluTanhGateBackward(dgate, dup, dh, gate, up, off, n);
    }
}
