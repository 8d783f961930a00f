package io.lakelora.model.nn;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

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
            double ss = sumProducts(inp, x, inp, x, null, C);
            float r = (float) (1.0 / Math.sqrt((float) (ss / C) + (double) eps));
            if (rstd != null) rstd[rstdOff + n] = r;
            int c = 0;
            for (; c <= C - FS.length(); c += FS.length()) {
                FloatVector.fromArray(FS, weight, c).mul(FloatVector.fromArray(FS, inp, x + c).mul(r))
                        .intoArray(out, o + c);
            }
            for (; c < C; c++) out[o + c] = weight[c] * (inp[x + c] * r);
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
            double dot = sumProducts(dout, d, inp, x, weight, C);
            float k = (float) (dot * r * r * r / C);
            int c = 0;
            for (; c <= C - FS.length(); c += FS.length()) {
                FloatVector g = FloatVector.fromArray(FS, weight, c).mul(FloatVector.fromArray(FS, dout, d + c)).mul(r)
                        .sub(FloatVector.fromArray(FS, inp, x + c).mul(k));
                FloatVector.fromArray(FS, dinp, di + c).add(g).intoArray(dinp, di + c);
            }
            for (; c < C; c++) dinp[di + c] += weight[c] * dout[d + c] * r - inp[x + c] * k;
        }
    }

    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    /**
     * sum over c of a[ao+c] * b[bo+c] (* w[c] when w is given), in double, in four interleaved partial sums added in
     * a fixed order (deterministic; one chain of dependent double additions was several times slower). Scalar on
     * purpose: widening float lanes to double takes a half-width float species, and a second float vector shape in
     * the process makes the Vector API's shared call-site profiles polymorphic, after which Java 17's C2 falls back to
     * per-lane code in unrelated 512-bit kernels (a 40% slower training step, depending on compile order).
     */
    private static double sumProducts(float[] a, int ao, float[] b, int bo, float[] w, int C) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int c = 0;
        if (w == null) { // two loops on purpose: one with "w == null ? 1f : w[c]" made the backward ~1.7x slower
            for (; c + 4 <= C; c += 4) {
                s0 += (double) a[ao + c] * b[bo + c];
                s1 += (double) a[ao + c + 1] * b[bo + c + 1];
                s2 += (double) a[ao + c + 2] * b[bo + c + 2];
                s3 += (double) a[ao + c + 3] * b[bo + c + 3];
            }
            for (; c < C; c++) s0 += (double) a[ao + c] * b[bo + c];
        } else {
            for (; c + 4 <= C; c += 4) {
                s0 += (double) a[ao + c] * w[c] * b[bo + c];
                s1 += (double) a[ao + c + 1] * w[c + 1] * b[bo + c + 1];
                s2 += (double) a[ao + c + 2] * w[c + 2] * b[bo + c + 2];
                s3 += (double) a[ao + c + 3] * w[c + 3] * b[bo + c + 3];
            }
            for (; c < C; c++) s0 += (double) a[ao + c] * w[c] * b[bo + c];
        }
        return (s0 + s1) + (s2 + s3);
    }
}
