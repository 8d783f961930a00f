package io.lakelora.model.nn;

import io.lakelora.kernel.Kernels;

/**
 * The LoRA path of a linear layer as PEFT defines it: {@code y += (B (A xd)) * scaling} with A[R, IN], B[OUT, R] (both
 * row-major views into one parameter slab) and {@code xd} the (possibly dropped-out) layer input. The frozen part
 * {@code x W^T + b} is {@link FrozenLinear}.
 */
public final class Lora {
    private Lora() {}

    /**
     * {@code u (N, R) = xd (N, IN) A^T} (cached for the backward), then {@code y (N, OUT) += scaling * u B^T}.
     *
     * @param params the adapter slab; A at aOff, B at bOff
     */
    public static void forward(
            Kernels kern,
            float[] y,
            int yOff,
            float[] u,
            int uOff,
            float[] xd,
            int xdOff,
            float[] params,
            int aOff,
            int bOff,
            int N,
            int IN,
            int OUT,
            int R,
            float scaling) {
        kern.sgemm(false, true, N, R, IN, 1f, xd, xdOff, IN, params, aOff, IN, 0f, u, uOff, R);
        kern.sgemm(false, true, N, OUT, R, scaling, u, uOff, R, params, bOff, R, 1f, y, yOff, OUT);
    }

    /**
     * Backward of {@link #forward}. With {@code y += s * u B^T} and {@code u = xd A^T}:
     * {@code dB += s * dy^T u}; {@code du = s * dy B} (overwrites the scratch {@code du}); {@code dA += du^T xd};
     * {@code dxd += du A}. Accumulates into grads (A at aOff, B at bOff, the same layout as params) and {@code dxd}
     * ({@code dxd == null}: the input gradient is not needed and not computed).
     *
     * @param du  (N, R) scratch
     * @param daT (IN, R) scratch: dA is computed transposed, {@code xd^T du}, which reads xd in place (the
     *            direct form {@code du^T xd} has only R rows and would pack all of xd for them)
     */
    public static void backward(
            Kernels kern,
            float[] dxd,
            int dxdOff,
            float[] grads,
            float[] du,
            int duOff,
            float[] daT,
            float[] dy,
            int dyOff,
            float[] u,
            int uOff,
            float[] xd,
            int xdOff,
            float[] params,
            int aOff,
            int bOff,
            int N,
            int IN,
            int OUT,
            int R,
            float scaling) {
        kern.sgemm(true, false, OUT, R, N, scaling, dy, dyOff, OUT, u, uOff, R, 1f, grads, bOff, R);
        kern.sgemm(false, false, N, R, OUT, scaling, dy, dyOff, OUT, params, bOff, R, 0f, du, duOff, R);
        kern.sgemm(true, false, IN, R, N, 1f, xd, xdOff, IN, du, duOff, R, 0f, daT, 0, R);
        for (int r = 0; r < R; r++) {
            int g = aOff + r * IN;
            for (int i = 0; i < IN; i++) grads[g + i] += daT[i * R + r];
        }
        if (dxd != null) kern.sgemm(false, false, N, IN, R, 1f, du, duOff, R, params, aOff, IN, 1f, dxd, dxdOff, IN);
    }
}
