package io.lakelora.model.nn;

import io.lakelora.kernel.Kernels;
import io.lakelora.quant.QuantizedMatrix;
import java.util.Objects;

/**
 * A frozen base-model linear layer {@code y = x W^T (+ b)} with W[OUT, IN] either dense fp32 or a {@link QuantizedMatrix}
 * (never de-quantized on the hot path: the kernels fuse de-quantization into the GEMM). Read-only by contract: nothing
 * here writes the weight or the bias, and there is no gradient for either; only the input gradient flows through.
 */
public final class FrozenLinear {
    private final int out;
    private final int in;
    private final float[] dense; // (OUT, IN) at denseOff, or null
    private final int denseOff;
    private final QuantizedMatrix quant; // or null
    private final float[] bias; // (OUT) or null
    private final boolean view; // dense weight owned by another tensor

    private FrozenLinear(
            int out, int in, float[] dense, int denseOff, QuantizedMatrix quant, float[] bias, boolean view) {
        if (out <= 0 || in <= 0)
            throw new IllegalArgumentException("linear shape must be positive, got " + out + "x" + in);
        if (bias != null && bias.length != out) {
            throw new IllegalArgumentException("bias has " + bias.length + " values, expected " + out);
        }
        this.out = out;
        this.in = in;
        this.dense = dense;
        this.denseOff = denseOff;
        this.quant = quant;
        this.bias = bias;
        this.view = view;
    }

    /** Dense fp32 weight (OUT, IN), row-major; {@code bias} may be null. */
    public static FrozenLinear dense(int out, int in, float[] weight, float[] bias) {
        if (weight.length != (long) out * in) {
            throw new IllegalArgumentException("weight has " + weight.length + " values, expected " + out + "x" + in);
        }
        return new FrozenLinear(out, in, weight, 0, null, bias, false);
    }

    /** A view of (OUT, IN) floats at {@code off} inside a larger array (e.g. a tied lm_head over the embedding). */
    public static FrozenLinear denseView(int out, int in, float[] weight, int off) {
        if (off < 0 || off + (long) out * in > weight.length) {
            throw new IllegalArgumentException("view " + out + "x" + in + " at " + off + " exceeds " + weight.length);
        }
        return new FrozenLinear(out, in, weight, off, null, null, true);
    }

    /** Quantized weight; {@code bias} may be null. */
    public static FrozenLinear quantized(QuantizedMatrix weight, float[] bias) {
        Objects.requireNonNull(weight);
        return new FrozenLinear(weight.rows(), weight.cols(), null, 0, weight, bias, false);
    }

    public int outFeatures() {
        return out;
    }

    public int inFeatures() {
        return in;
    }

    public boolean isQuantized() {
        return quant != null;
    }

    public boolean hasBias() {
        return bias != null;
    }

    /** The quantized weight, or null when dense. */
    public QuantizedMatrix quantizedWeight() {
        return quant;
    }

    /** The bias (do not modify), or null. */
    public float[] bias() {
        return bias;
    }

    /** The weight in fp32 as a new array (OUT, IN): a copy when dense, de-quantized when quantized. Not for hot paths. */
    public float[] weightFp32() {
        if (quant != null) return quant.dequantize();
        float[] w = new float[out * in];
        System.arraycopy(dense, denseOff, w, 0, w.length);
        return w;
    }

    /** Bytes this layer holds (a view over another tensor counts 0). */
    public long residentBytes() {
        long b = bias == null ? 0 : 4L * bias.length;
        if (quant != null) return b + quant.residentBytes();
        return b + (view ? 0 : 4L * out * in);
    }

    /** {@code out (N, OUT) = inp (N, IN) W^T + b}, overwriting {@code out}. */
    public void forward(Kernels kern, float[] y, int yOff, float[] x, int xOff, int N) {
        forward(kern, y, yOff, x, xOff, N, null);
    }

    /**
     * {@code y (N, OUT) = x W^T + extra (+ b)}, overwriting y: a LoRA up-projection {@code s u B^T} added in the same
     * pass over y as the frozen product ({@link Kernels.LowRank}); {@code extra} may be null.
     */
    public void forward(Kernels kern, float[] y, int yOff, float[] x, int xOff, int N, Kernels.LowRank extra) {
        if (quant != null) {
            if (extra == null) kern.qgemm(false, true, N, out, in, 1f, x, xOff, in, quant, 0f, y, yOff, out);
            else kern.qgemm(false, true, N, out, in, 1f, x, xOff, in, quant, extra, 0f, y, yOff, out);
        } else if (extra == null) {
            kern.sgemm(false, true, N, out, in, 1f, x, xOff, in, dense, denseOff, in, 0f, y, yOff, out);
        } else {
            kern.sgemm(false, true, N, out, in, 1f, x, xOff, in, dense, denseOff, in, extra, 0f, y, yOff, out);
        }
        if (bias != null) {
            for (int n = 0; n < N; n++) {
                int o = yOff + n * out;
                for (int j = 0; j < out; j++) y[o + j] += bias[j];
            }
        }
    }

    /** Input gradient of {@link #forward}: {@code dx (N, IN) += dy (N, OUT) W}. Accumulates. */
    public void backwardInput(Kernels kern, float[] dx, int dxOff, float[] dy, int dyOff, int N) {
        backwardInput(kern, dx, dxOff, dy, dyOff, N, null, true);
    }

    /**
     * {@code dx (N, IN) (+)= dy (N, OUT) W + extra}: adds to dx when {@code accumulate}, else overwrites; {@code extra}
     * (a LoRA input gradient {@code du A}) may be null.
     */
    public void backwardInput(
            Kernels kern,
            float[] dx,
            int dxOff,
            float[] dy,
            int dyOff,
            int N,
            Kernels.LowRank extra,
            boolean accumulate) {
        float beta = accumulate ? 1f : 0f;
        if (quant != null) {
            if (extra == null) kern.qgemm(false, false, N, in, out, 1f, dy, dyOff, out, quant, beta, dx, dxOff, in);
            else kern.qgemm(false, false, N, in, out, 1f, dy, dyOff, out, quant, extra, beta, dx, dxOff, in);
        } else if (extra == null) {
            kern.sgemm(false, false, N, in, out, 1f, dy, dyOff, out, dense, denseOff, in, beta, dx, dxOff, in);
        } else {
            kern.sgemm(false, false, N, in, out, 1f, dy, dyOff, out, dense, denseOff, in, extra, beta, dx, dxOff, in);
        }
    }
}
