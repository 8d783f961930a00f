package io.lakelora.model.nn;

/**
 * RMSNorm as Hugging Face's {@code LlamaRMSNorm} computes it in fp32: {@code out = w * (x / sqrt(mean(x^2) + eps))}.
 * The weight is frozen (base model), so the backward produces only the input gradient.
 */
public final class RmsNorm {
    private RmsNorm() {}

    /**
     * @param out   (N, C) normalized output
     * @param rstd  (N) cache: 1 / sqrt(mean(x^2) + eps) per row
     * @param inp   (N, C) input rows starting at {@code inpOff}
     * @param weight (C)
     */
    public static void forward(float[] out, int outOff, float[] rstd, int rstdOff, float[] inp, int inpOff,
                               float[] weight, int N, int C, float eps) {
        for (int n = 0; n < N; n++) {
            int x = inpOff + n * C;
            int o = outOff + n * C;
            double ss = 0;
            for (int c = 0; c < C; c++) ss += (double) inp[x + c] * inp[x + c];
            float r = (float) (1.0 / Math.sqrt((float) (ss / C) + (double) eps));
            if (rstd != null) rstd[rstdOff + n] = r;
            for (int c = 0; c < C; c++) out[o + c] = weight[c] * (inp[x + c] * r);
        }
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
    public static void backward(float[] dinp, int dinpOff, float[] dout, int doutOff, float[] inp, int inpOff,
                                float[] weight, float[] rstd, int rstdOff, int N, int C) {
        for (int n = 0; n < N; n++) {
            int x = inpOff + n * C;
            int d = doutOff + n * C;
            int di = dinpOff + n * C;
            float r = rstd[rstdOff + n];
            double dot = 0;
            for (int c = 0; c < C; c++) dot += (double) dout[d + c] * weight[c] * inp[x + c];
            float k = (float) (dot * r * r * r / C);
            for (int c = 0; c < C; c++) dinp[di + c] += weight[c] * dout[d + c] * r - inp[x + c] * k;
        }
    }
}
