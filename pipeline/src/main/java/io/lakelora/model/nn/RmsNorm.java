package io.lakelora.model.nn;

import io.lakelora.kernel.Kernels;

/**
 * RMSNorm as Hugging Face's {@code LlamaRMSNorm} computes it in fp32: {@code out = w * (x / sqrt(mean(x^2) + eps))}.
 * The weight is frozen (base model), so the backward produces only the input gradient. The rows are computed by the
 * backend ({@link io.lakelora.kernel.MathOps#rmsNormForward}; fp32 row sums in a fixed order, so deterministic).
 */
public final class RmsNorm {
    private RmsNorm() {}

    /**
     * @param out   (N, C) normalized output
     * @param rstd  (N) cache: 1 / sqrt(mean(x^2) + eps) per row, or null when no backward follows
     * @param inp   (N, C) input rows starting at {@code inpOff}
     * @param weight (C)
     */
    public static void forward(
            Kernels kern,
            float[] out,
            int outOff,
            float[] rstd,
            int rstdOff,
            float[] inp,
            int inpOff,
            float[] weight,
            int N,
            int C,
            float eps) {
        kern.math().rmsNormForward(out, outOff, rstd, rstdOff, inp, inpOff, weight, N, C, eps);
    }

    /**
     * Inverts {@code out[c] = w[c] * x[c] * r}, r = (mean(x^2) + eps)^(-1/2):
     * {@code dx[j] += w[j] dout[j] r - x[j] r^3 / C * sum_c(dout[c] w[c] x[c])}. Accumulates into {@code dinp}.
     *
     * @param dinp (N, C) += input gradient
     * @param dout (N, C) gradient of the output
     * @param inp  (N, C) the forward input
     * @param rstd (N) from the forward
     */
    public static void backward(
            Kernels kern,
            float[] dinp,
            int dinpOff,
            float[] dout,
            int doutOff,
            float[] inp,
            int inpOff,
            float[] weight,
            float[] rstd,
            int rstdOff,
            int N,
            int C) {
        kern.math().rmsNormBackward(dinp, dinpOff, dout, doutOff, inp, inpOff, weight, rstd, rstdOff, N, C);
    }
}
