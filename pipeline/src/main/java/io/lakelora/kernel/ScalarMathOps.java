package io.lakelora.kernel;

/**
 * The specification of {@link MathOps}: plain loops, fp32 sums accumulated in index order, {@code Math.exp} rounded to
 * fp32. Every other implementation is tested against this class; it is what {@link ScalarKernels} uses, and it loads
 * no {@code jdk.incubator.vector} class (a JVM without that module runs it).
 */
public final class ScalarMathOps implements MathOps {
    /** The one instance (the class holds no state). */
    public static final ScalarMathOps INSTANCE = new ScalarMathOps();

    private ScalarMathOps() {}

    @Override
    public float max(float[] x, int off, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) m = Math.max(m, x[off + i]);
        return m;
    }

    @Override
    public float expShiftSum(float[] x, int off, int n, float shift) {
        float sum = 0f;
        for (int i = off; i < off + n; i++) {
            float e = (float) Math.exp(x[i] - shift);
            x[i] = e;
            sum += e;
        }
        return sum;
    }

    @Override
    public void scale(float[] x, int off, int n, float s) {
        for (int i = off; i < off + n; i++) x[i] *= s;
    }

    @Override
    public void mulShifted(float[] x, int xo, float[] p, int po, int n, float shift) {
        for (int i = 0; i < n; i++) x[xo + i] = p[po + i] * (x[xo + i] - shift);
    }

    @Override
    public float dot(float[] a, int ao, float[] b, int bo, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) sum += a[ao + i] * b[bo + i];
        return sum;
    }

    @Override
    public float dot3(float[] a, int ao, float[] w, float[] b, int bo, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) sum += a[ao + i] * w[i] * b[bo + i];
        return sum;
    }

    @Override
    public void swiglu(float[] h, float[] g, float[] u, int off, int n) {
        for (int i = off; i < off + n; i++) h[i] = g[i] / (1f + (float) Math.exp(-g[i])) * u[i];
    }

    @Override
    public void swigluBackward(float[] dg, float[] du, float[] dh, float[] g, float[] u, int off, int n) {
        for (int i = off; i < off + n; i++) {
            float s = 1f / (1f + (float) Math.exp(-g[i]));
            du[i] = dh[i] * g[i] * s;
            dg[i] = dh[i] * u[i] * s * (1f + g[i] * (1f - s));
        }
    }

    /** PyTorch's fp32 formula: 0.5 x (1 + tanh(beta (x + kappa x^3))). */
    @Override
    public void geluTanhGate(float[] h, float[] g, float[] u, int off, int n) {
        for (int i = off; i < off + n; i++) {
            float x = g[i];
            float t = (float) Math.tanh(GELU_BETA * (x + GELU_KAPPA * x * x * x));
            h[i] = 0.5f * x * (1f + t) * u[i];
        }
    }

    /** PyTorch's GeluBackward (tanh) in fp32, times the gate's other factor. */
    @Override
    public void geluTanhGateBackward(float[] dg, float[] du, float[] dh, float[] g, float[] u, int off, int n) {
        for (int i = off; i < off + n; i++) {
            float x = g[i];
            float x2 = x * x;
            float t = (float) Math.tanh(GELU_BETA * (x + GELU_KAPPA * x2 * x));
            float gelu = 0.5f * x * (1f + t);
            float d = 0.5f * (1f + t) + 0.5f * x * (1f - t * t) * GELU_BETA * (1f + 3f * GELU_KAPPA * x2);
            float dhi = dh[i];
            du[i] = dhi * gelu;
            dg[i] = dhi * u[i] * d;
        }
    }

    @Override
    public void rmsNormForward(
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
        for (int n = 0; n < N; n++) {
            int x = inpOff + n * C;
            int o = outOff + n * C;
            float ss = dot(inp, x, inp, x, C);
            float r = (float) (1.0 / Math.sqrt(ss / C + (double) eps));
            if (rstd != null) rstd[rstdOff + n] = r;
            for (int c = 0; c < C; c++) out[o + c] = weight[c] * (inp[x + c] * r);
        }
    }

    @Override
    public void rmsNormBackward(
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
        for (int n = 0; n < N; n++) {
            int x = inpOff + n * C;
            int d = doutOff + n * C;
            int di = dinpOff + n * C;
            float r = rstd[rstdOff + n];
            float k = (float) ((double) dot3(dout, d, weight, inp, x, C) * r * r * r / C);
            for (int c = 0; c < C; c++) dinp[di + c] += weight[c] * dout[d + c] * r - inp[x + c] * k;
        }
    }
}
