package io.lakelora.model.nn;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
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
    /** Double lanes of the widest vector, and float lanes of half that width (the same lane count). */
    private static final VectorSpecies<Double> D8 = DoubleVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> F8 =
            VectorSpecies.of(float.class, VectorShape.forBitSize(D8.vectorBitSize() / 2));

    /**
     * sum over c of a[ao+c] * b[bo+c] (* w[c] when w is given), in double: double lanes (float lanes widened)
     * summed in a fixed order, then the tail (deterministic; one chain of dependent double additions made the norms
     * a measurable part of a training step).
     */
    private static double sumProducts(float[] a, int ao, float[] b, int bo, float[] w, int C) {
        int c = 0;
        double s = 0;
        int n = D8.length();
        if (C >= n && n >= 2) {
            DoubleVector acc = DoubleVector.fromArray(D8, DZEROS, 0);
            for (; c <= C - n; c += n) {
                DoubleVector x = (DoubleVector) FloatVector.fromArray(F8, a, ao + c).convertShape(VectorOperators.F2D, D8, 0);
                DoubleVector y = (DoubleVector) FloatVector.fromArray(F8, b, bo + c).convertShape(VectorOperators.F2D, D8, 0);
                if (w != null) {
                    x = x.mul((DoubleVector) FloatVector.fromArray(F8, w, c).convertShape(VectorOperators.F2D, D8, 0));
                }
                acc = x.fma(y, acc);
            }
            double[] l = new double[n];
            acc.intoArray(l, 0); // here, not in a method the vector is passed to (see Lanes.sum)
            for (int h = n / 2; h >= 1; h /= 2) {
                for (int i = 0; i < h; i++) l[i] = l[2 * i] + l[2 * i + 1]; // pairwise: ((l0+l1)+(l2+l3))+...
            }
            s = l[0];
        }
        for (; c < C; c++) s += w == null ? (double) a[ao + c] * b[bo + c] : (double) a[ao + c] * w[c] * b[bo + c];
        return s;
    }

    private static final double[] DZEROS = new double[8];
}
