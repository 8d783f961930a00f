package io.lakelora.kernel.cuda;

/**
 * The LoRA path of one adapted linear layer on the device, as {@code model.nn.Lora} with {@code model.nn.Dropout}:
 * {@code y += s * (xd A^T) B^T} with {@code xd = dropout(x)} (x itself when p = 0), A (R, IN) and B (OUT, R) fp32
 * views into the device copy of the adapter slab, and their gradients accumulated into the gradient slab of the same
 * layout. The frozen part ({@link FrozenGemm}) is the caller's: forward {@code y = x W^T} first, then
 * {@link #forward} adds the LoRA term; backward {@link #backward}, then the frozen input gradient added to dx.
 * Products are fp32 (the master weights) in the compute mode given.
 *
 * <p>Offsets ({@code aOff}, {@code bOff}) count floats from the slab's start, as in the CPU model's layout.
 */
public final class DeviceLora {
    private DeviceLora() {}

    /** One adapted module: shapes, scaling, dropout and where its A and B lie in the slabs. */
    public record Module(int IN, int OUT, int R, float scaling, float dropout, long seed, long aOff, long bOff) {
        public Module {
            if (IN < 1 || OUT < 1 || R < 1) throw new IllegalArgumentException("LoRA module " + this);
            if (!(dropout >= 0f && dropout < 1f)) throw new IllegalArgumentException("dropout " + dropout);
        }
    }

    /**
     * {@code u (N, R) = xd A^T}, then {@code y (N, OUT) += s u B^T}. With dropout, {@code xd} (N, IN) receives
     * dropout(x); without, it is unused (may be 0).
     */
    public static void forward(
            DeviceOps ops, Module m, long params, long x, long xd, long u, long y, int N, GemmCompute cmp) {
        CudaApi api = ops.api();
        long xin = x;
        if (m.dropout() > 0f) {
            ops.dropoutForward(xd, x, (long) N * m.IN(), m.dropout(), m.seed());
            xin = xd;
        }
        long a = params + 4 * m.aOff(), b = params + 4 * m.bOff();
        RowMajorGemm.gemm(
                api,
                false,
                true,
                N,
                m.R(),
                m.IN(),
                1f,
                xin,
                DataType.F32,
                m.IN(),
                a,
                DataType.F32,
                m.IN(),
                0f,
                u,
                m.R(),
                cmp);
        RowMajorGemm.gemm(
                api,
                false,
                true,
                N,
                m.OUT(),
                m.R(),
                m.scaling(),
                u,
                DataType.F32,
                m.R(),
                b,
                DataType.F32,
                m.R(),
                1f,
                y,
                m.OUT(),
                cmp);
    }

    /**
     * Backward of {@link #forward}: {@code dB += s dy^T u}, {@code du = s dy B} (scratch, N x R), {@code dA += du^T xd}
     * (xd regenerated from x and the seed into the scratch {@code xd}), and, unless {@code dx} is 0,
     * {@code dx += dropout_backward(du A)} (through the scratch {@code dxd}, N x IN, with dropout; straight into dx
     * without). ACCUMULATES into grads and dx.
     */
    public static void backward(
            DeviceOps ops,
            Module m,
            long params,
            long grads,
            long dy,
            long u,
            long x,
            long xd,
            long du,
            long dxd,
            long dx,
            int N,
            GemmCompute cmp) {
        CudaApi api = ops.api();
        int IN = m.IN(), OUT = m.OUT(), R = m.R();
        long a = params + 4 * m.aOff(), b = params + 4 * m.bOff();
        long ga = grads + 4 * m.aOff(), gb = grads + 4 * m.bOff();
        // y += s u B^T  =>  dB (OUT x R) += s dy^T u ; du (N x R) = s dy B
        RowMajorGemm.gemm(
                api, true, false, OUT, R, N, m.scaling(), dy, DataType.F32, OUT, u, DataType.F32, R, 1f, gb, R, cmp);
        RowMajorGemm.gemm(
                api, false, false, N, R, OUT, m.scaling(), dy, DataType.F32, OUT, b, DataType.F32, R, 0f, du, R, cmp);
        // u = xd A^T  =>  dA (R x IN) += du^T xd ; dxd = du A
        long xin = x;
        if (m.dropout() > 0f) {
            ops.dropoutForward(xd, x, (long) N * IN, m.dropout(), m.seed());
            xin = xd;
        }
        RowMajorGemm.gemm(api, true, false, R, IN, N, 1f, du, DataType.F32, R, xin, DataType.F32, IN, 1f, ga, IN, cmp);
        if (dx == 0) return;
        if (m.dropout() > 0f) {
            RowMajorGemm.gemm(
                    api, false, false, N, IN, R, 1f, du, DataType.F32, R, a, DataType.F32, IN, 0f, dxd, IN, cmp);
            ops.dropoutBackward(dx, dxd, (long) N * IN, m.dropout(), m.seed());
        } else {
            RowMajorGemm.gemm(
                    api, false, false, N, IN, R, 1f, du, DataType.F32, R, a, DataType.F32, IN, 1f, dx, IN, cmp);
        }
    }
}
