package io.lakelora.kernel;

/**
 * The row and element-wise operations of the layers, beside {@link Kernels}' matrix products: the softmax pieces
 * (attention, cross-entropy), RMSNorm's rows, SwiGLU and Gemma's gelu-tanh gate. Reached through {@link Kernels#math()}, so the layers of
 * {@code model.nn} never touch a vector API themselves and a backend supplies these together with its products.
 *
 * <p>Implementations: {@link ScalarMathOps}, plain loops and the specification (what every other implementation is
 * tested against, and the fallback that needs no incubator module), and the Vector API one of {@link VectorKernels}.
 * They agree to fp32 rounding, not bit for bit: sums are accumulated in a different order (per lane, then across
 * lanes) and the vector exponential agrees with {@code Math.exp} to 2 ulp. Each implementation is deterministic: the
 * same inputs give the same bits on any thread and for any split of a range at multiples of 64 elements.
 *
 * <p>Arrays are row-major {@code float[]} with explicit offsets; ranges are {@code [off, off + n)}. Operations that
 * "overwrite" ignore their outputs' previous contents; "accumulate" ({@code +=}) is said where it applies.
 */
public interface MathOps {

    /**
     * max of x[off, off+n), n > 0, with {@code Math.max}'s result on every input (NaN if any element is NaN, +0 above
     * -0).
     */
    float max(float[] x, int off, int n);

    /**
     * x[i] = exp(x[i] - shift) over [off, off+n), shift >= every x[i] (a softmax's max, taken with {@link #max});
     * returns the fp32 sum of the new values.
     */
    float expShiftSum(float[] x, int off, int n, float shift);

    /** x[i] *= s over [off, off+n). */
    void scale(float[] x, int off, int n, float s);

    /** x[xo+i] = p[po+i] * (x[xo+i] - shift), i in [0, n) (the softmax backward: dS = P * (dP - rowsum(P dP))). */
    void mulShifted(float[] x, int xo, float[] p, int po, int n, float shift);

    /** fp32 sum of a[ao+i] * b[bo+i], i in [0, n). */
    float dot(float[] a, int ao, float[] b, int bo, int n);

    /** fp32 sum of a[ao+i] * w[i] * b[bo+i], i in [0, n) (RMSNorm's backward: dout . weight . x). */
    float dot3(float[] a, int ao, float[] w, float[] b, int bo, int n);

    /**
     * h[i] = silu(g[i]) * u[i] = g[i] / (1 + exp(-g[i])) * u[i] over [off, off+n); h may alias g. A range split over
     * threads is cut at multiples of 64 elements (vector loops and their scalar tails then cover the same elements
     * for any split).
     */
    void swiglu(float[] h, float[] g, float[] u, int off, int n);

    /**
     * Backward of {@link #swiglu} over [off, off+n), OVERWRITING dg and du: with s = sigmoid(g),
     * {@code du = dh * g * s}, {@code dg = dh * u * s * (1 + g * (1 - s))}.
     */
    void swigluBackward(float[] dg, float[] du, float[] dh, float[] g, float[] u, int off, int n);

    /** sqrt(2 / pi), the tanh approximation's factor ({@code kBeta} in PyTorch's gelu kernel). */
    float GELU_BETA = 0.7978845608028654f;

    /** The cubic term's coefficient of the tanh approximation ({@code kKappa}). */
    float GELU_KAPPA = 0.044715f;

    /**
     * h[i] = gelu_tanh(g[i]) * u[i] over [off, off+n) (Gemma's gated MLP, {@code gelu_pytorch_tanh}): with
     * {@code z = GELU_BETA * (g + GELU_KAPPA * g^3)}, {@code gelu_tanh(g) = 0.5 g (1 + tanh z)} (= {@code g sigmoid(2z)}).
     * h may alias g; ranges split as {@link #swiglu}'s.
     */
    void geluTanhGate(float[] h, float[] g, float[] u, int off, int n);

    /**
     * Backward of {@link #geluTanhGate} over [off, off+n), OVERWRITING dg and du: {@code du = dh * gelu_tanh(g)},
     * {@code dg = dh * u * (0.5 (1 + t) + 0.5 g (1 - t^2) GELU_BETA (1 + 3 GELU_KAPPA g^2))} with t = tanh z.
     */
    void geluTanhGateBackward(float[] dg, float[] du, float[] dh, float[] g, float[] u, int off, int n);

    /**
     * RMSNorm of N rows of width C, as Hugging Face's {@code LlamaRMSNorm} in fp32: with the fp32 sum of squares
     * {@code ss = dot(x, x)}, {@code r = (float) (1 / sqrt(ss / C + (double) eps))} and
     * {@code out[c] = w[c] * (x[c] * r)}. Overwrites out; stores r per row into rstd unless rstd is null.
     */
    void rmsNormForward(
            float[] out,
            int outOff,
            float[] rstd,
            int rstdOff,
            float[] inp,
            int inpOff,
            float[] weight,
            int N,
            int C,
            float eps);

    /**
     * Backward of {@link #rmsNormForward}, ACCUMULATING the input gradient: with {@code d = dot3(dout, w, x)} and
     * {@code k = (float) ((double) d * r * r * r / C)}, {@code dinp[c] += w[c] * dout[c] * r - x[c] * k}.
     */
    void rmsNormBackward(
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
            int C);
}
