package io.lakelora.kernel.cuda;

/**
 * The frozen base's products on the device: decode a tile of W's rows, then one cuBLAS GEMM per tile. W stays 4-bit
 * (or 8-bit) in device memory; only one tile is ever decoded.
 *
 * <ul>
 *   <li>{@link Mode#BF16}: the tile is decoded to bf16, the activations are rounded to bf16 once per call, and cuBLAS
 *       multiplies them on the tensor cores with fp32 accumulation (QLoRA's compute dtype).
 *   <li>{@link Mode#F32}: the tile is decoded to fp32 ({@link io.lakelora.quant.QuantizedMatrix#get}'s bits) and
 *       multiplied in fp32 with {@link GemmCompute#F32_PEDANTIC} (no TF32): the parity mode against the CPU engine.
 * </ul>
 *
 * <p>Forward {@code y = alpha x W^T + beta y}: tile t holds W rows [r0, r0 + tr) (output features), so it writes
 * columns [r0, r0 + tr) of y with the whole reduction in one GEMM. Input gradient {@code dx = alpha dy W + beta dx}:
 * tile t is a slice of the reduction, accumulated into dx (beta on the first tile, 1 after).
 */
public final class FrozenGemm {
    /** How the products are computed (the class doc). */
    public enum Mode {
        BF16(DataType.BF16, GemmCompute.F32),
        F32(DataType.F32, GemmCompute.F32_PEDANTIC);

        final DataType type;
        final GemmCompute compute;

        Mode(DataType type, GemmCompute compute) {
            this.type = type;
            this.compute = compute;
        }

        public DataType type() {
            return type;
        }
    }

    private final DeviceOps ops;
    private final Mode mode;
    private final long tile;
    private final long tileBytes;
    private final long act;
    private final long actBytes;

    /**
     * @param tile     workspace for one decoded tile, {@code tileBytes} long (at least one row of the widest weight)
     * @param act      workspace for the bf16 copy of a call's activations, {@code actBytes} long (unused in F32)
     */
    public FrozenGemm(DeviceOps ops, Mode mode, long tile, long tileBytes, long act, long actBytes) {
        this.ops = ops;
        this.mode = mode;
        this.tile = tile;
        this.tileBytes = tileBytes;
        this.act = act;
        this.actBytes = actBytes;
    }

    public Mode mode() {
        return mode;
    }

    /** Rows of a {@code rows x cols} weight per tile of {@code tileBytes} (at least 1, at most all). */
    public static int tileRows(int rows, int cols, long tileBytes, Mode mode) {
        long per = (long) cols * mode.type.bytes();
        long r = tileBytes / per;
        if (r < 1) {
            throw new IllegalArgumentException("decode tile of " + tileBytes + " bytes holds no row of " + cols + " "
                    + mode.type + " values; the workspace plan must give at least " + per);
        }
        return (int) Math.min(rows, r);
    }

    /** y (N, OUT; row stride ldy, fp32) = alpha x (N, IN; ldx, fp32) W^T + beta y, with W = w (OUT, IN). */
    public void forward(DeviceQuantMatrix w, long x, int ldx, int N, float alpha, float beta, long y, int ldy) {
        int out = w.rows(), in = w.cols();
        if (ldx < in || ldy < out)
            throw new IllegalArgumentException(
                    "frozen forward: ldx " + ldx + " < " + in + " or ldy " + ldy + " < " + out);
        long a = activations(x, ldx, in, N);
        int tr = tileRows(out, in, tileBytes, mode);
        for (int r0 = 0; r0 < out; r0 += tr) {
            int rows = Math.min(tr, out - r0);
            ops.dequantTile(w, tile, in, mode.type, r0, rows);
            // y[:, r0:r0+rows] (N x rows) = x (N x IN) tile^T, tile (rows x IN)
            RowMajorGemm.gemm(
                    ops.api(),
                    false,
                    true,
                    N,
                    rows,
                    in,
                    alpha,
                    a,
                    mode.type,
                    ldx,
                    tile,
                    mode.type,
                    in,
                    beta,
                    y + 4L * r0,
                    ldy,
                    mode.compute);
        }
    }

    /** dx (N, IN; lddx, fp32) = alpha dy (N, OUT; lddy, fp32) W + beta dx, with W = w (OUT, IN). */
    public void backwardInput(
            DeviceQuantMatrix w, long dy, int lddy, int N, float alpha, float beta, long dx, int lddx) {
        int out = w.rows(), in = w.cols();
        if (lddy < out || lddx < in)
            throw new IllegalArgumentException(
                    "frozen input gradient: lddy " + lddy + " < " + out + " or lddx " + lddx + " < " + in);
        long a = activations(dy, lddy, out, N);
        int tr = tileRows(out, in, tileBytes, mode);
        for (int r0 = 0; r0 < out; r0 += tr) {
            int rows = Math.min(tr, out - r0);
            ops.dequantTile(w, tile, in, mode.type, r0, rows);
            // dx (N x IN) += dy[:, r0:r0+rows] (N x rows) tile (rows x IN)
            RowMajorGemm.gemm(
                    ops.api(),
                    false,
                    false,
                    N,
                    in,
                    rows,
                    alpha,
                    a + (long) mode.type.bytes() * r0,
                    mode.type,
                    lddy,
                    tile,
                    mode.type,
                    in,
                    r0 == 0 ? beta : 1f,
                    dx,
                    lddx,
                    mode.compute);
        }
    }

    /** The activations in the mode's type: x itself (F32) or its bf16 copy in the act workspace. */
    private long activations(long x, int ld, int width, int N) {
        if (mode == Mode.F32) return x;
        long n = (long) (N - 1) * ld + width;
        if (2 * n > actBytes) {
            throw new IllegalArgumentException("bf16 activations of " + N + " x " + ld + " need " + 2 * n
                    + " bytes, the workspace has " + actBytes);
        }
        ops.toBf16(act, x, n);
        return act;
    }
}
