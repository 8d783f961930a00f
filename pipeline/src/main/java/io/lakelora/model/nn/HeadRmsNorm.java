package io.lakelora.model.nn;

import io.lakelora.kernel.Kernels;

/**
 * Per-head RMSNorm over {@code head_dim}: Qwen3's and Gemma 3's {@code q_norm} / {@code k_norm}, applied to the
 * query and key projections before RoPE. A row of NHx heads is NHx independent RMSNorm rows of width HS sharing one
 * (HS) weight, so this is {@link RmsNorm} over N*NHx rows. Frozen weight: the backward gives the input gradient only.
 */
public final class HeadRmsNorm {
    private HeadRmsNorm() {}

    /**
     * @param out    (N, NHx*HS) normalized output (may not alias x)
     * @param rstd   (N*NHx) cache: 1 / sqrt(mean(x_head^2) + eps) per row and head, or null when no backward follows
     * @param x      (N, NHx*HS) the projections
     * @param weight (HS) the norm's multiplier
     */
    public static void forward(
            Kernels kern,
            float[] out,
            int outOff,
            float[] rstd,
            int rstdOff,
            float[] x,
            int xOff,
            float[] weight,
            int N,
            int NHx,
            int HS,
            float eps) {
        RmsNorm.forward(kern, out, outOff, rstd, rstdOff, x, xOff, weight, N * NHx, HS, eps);
    }

    /**
     * ACCUMULATES the input gradient of {@link #forward} into dx.
     *
     * @param dx   (N, NHx*HS) += input gradient
     * @param dout (N, NHx*HS) gradient of the output
     * @param x    (N, NHx*HS) the forward input
     * @param rstd (N*NHx) from the forward
     */
    public static void backward(
            Kernels kern,
            float[] dx,
            int dxOff,
            float[] dout,
            int doutOff,
            float[] x,
            int xOff,
            float[] weight,
            float[] rstd,
            int rstdOff,
            int N,
            int NHx,
            int HS) {
        RmsNorm.backward(kern, dx, dxOff, dout, doutOff, x, xOff, weight, rstd, rstdOff, N * NHx, HS);
    }
}
