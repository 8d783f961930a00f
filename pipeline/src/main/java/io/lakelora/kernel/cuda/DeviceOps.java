package io.lakelora.kernel.cuda;

import io.lakelora.quant.QuantizedMatrix;

/**
 * The layer operations on device buffers: each call picks its {@link LaunchGeometry}, builds the arguments in the
 * order its {@link CudaKernel} declares, checks them and launches on {@link CudaApi}'s stream. Addresses are device
 * pointers to fp32 arrays unless a name says otherwise; shapes and semantics are those of the kernel sources (and of
 * the Java layers they mirror, named on each method). Sizes the kernels cannot check (positions, targets, windows)
 * are checked by the callers that own the host copies.
 */
public final class DeviceOps {
    private final CudaApi api;
    private final CudaModules modules;
    private final int multiprocessors;

    public DeviceOps(CudaApi api, CudaModules modules) {
        this.api = api;
        this.modules = modules;
        this.multiprocessors = api.device().multiprocessors();
    }

    public CudaApi api() {
        return api;
    }

    private void launch(CudaKernel k, LaunchGeometry.Launch g, KernelArgs a) {
        a.check(k);
        api.launch(modules.function(k), g.grid(), g.block(), 0, a);
    }

    private LaunchGeometry.Launch flat(long n) {
        return LaunchGeometry.elementwise(n, multiprocessors);
    }

    // ---------------------------------------------------------------------------------------------- frozen weights

    /**
     * Decodes rows {@code [row0, row0 + rows)} of {@code w} into {@code out} (rows x cols, row stride {@code ldo}) as
     * fp32 (bit for bit {@link QuantizedMatrix#get}) or bf16 (those values rounded to nearest even).
     */
    public void dequantTile(DeviceQuantMatrix w, long out, int ldo, DataType type, int row0, int rows) {
        QuantLayout l = w.layout();
        if (row0 < 0 || rows < 1 || row0 + rows > l.rows()) {
            throw new IllegalArgumentException(
                    "decode rows [" + row0 + ", " + (row0 + rows) + ") of a " + l.rows() + "-row weight");
        }
        if (ldo < l.cols()) throw new IllegalArgumentException("decode tile ldo " + ldo + " < cols " + l.cols());
        if (type == DataType.F16) throw new IllegalArgumentException("decode to f32 or bf16, not f16");
        boolean bf16 = type == DataType.BF16;
        KernelArgs a = KernelArgs.of().ptr(out).i32(ldo);
        CudaKernel k;
        if (l.fourBit()) {
            k = bf16 ? CudaKernel.DEQUANT4_BF16 : CudaKernel.DEQUANT4_F32;
            a.ptr(w.ptr(l.packed()))
                    .ptr(w.ptr(l.code()))
                    .i32(l.blocksize())
                    .ptr(w.ptr(l.absmax()))
                    .ptr(w.ptr(l.absmaxCodes()))
                    .ptr(w.ptr(l.nestedCode()))
                    .ptr(w.ptr(l.nestedAbsmax()))
                    .i32(Math.max(1, l.nestedBlocksize()))
                    .f32(l.nestedOffset());
        } else {
            k = bf16 ? CudaKernel.DEQUANT8_BF16 : CudaKernel.DEQUANT8_F32;
            a.ptr(w.ptr(l.packed())).ptr(w.ptr(l.rowScale())).f32(QuantizedMatrix.INT8_DEQUANT_SCALE);
        }
        a.i32(row0).i32(rows).i32(l.cols());
        launch(k, flat((long) rows * l.cols()), a);
    }

    // ---------------------------------------------------------------------------------------------- norms, rope, mlp

    /** {@code model.nn.RmsNorm.forward}: out (N, C), rstd (N) or 0, inp (N, C), weight (C). */
    public void rmsNormForward(long out, long rstd, long inp, long weight, int N, int C, float eps) {
        launch(
                CudaKernel.RMSNORM_FORWARD,
                LaunchGeometry.rows(N, C),
                KernelArgs.of()
                        .ptr(out)
                        .ptr(rstd)
                        .ptr(inp)
                        .ptr(weight)
                        .i32(N)
                        .i32(C)
                        .f32(eps));
    }

    /** {@code model.nn.RmsNorm.backward}, ACCUMULATING into dinp. */
    public void rmsNormBackward(long dinp, long dout, long inp, long weight, long rstd, int N, int C) {
        launch(
                CudaKernel.RMSNORM_BACKWARD,
                LaunchGeometry.rows(N, C),
                KernelArgs.of()
                        .ptr(dinp)
                        .ptr(dout)
                        .ptr(inp)
                        .ptr(weight)
                        .ptr(rstd)
                        .i32(N)
                        .i32(C));
    }

    /**
     * {@code model.nn.Rope.forward} ({@code backward == false}) or {@code backward}, in place on x (N rows of NHx
     * heads of 2*half, row stride ldx), positions pos (N ints, each below the table's rows), tables from
     * {@link RopeTables}.
     */
    public void rope(
            long x, int ldx, long pos, long cosTable, long sinTable, int N, int NHx, int half, boolean backward) {
        if (ldx < NHx * 2 * half) throw new IllegalArgumentException("rope: ldx " + ldx + " < " + NHx * 2 * half);
        launch(
                CudaKernel.ROPE,
                flat((long) N * NHx * half),
                KernelArgs.of()
                        .ptr(x)
                        .i32(ldx)
                        .ptr(pos)
                        .ptr(cosTable)
                        .ptr(sinTable)
                        .i32(N)
                        .i32(NHx)
                        .i32(half)
                        .f32(backward ? -1f : 1f));
    }

    /** {@code MathOps.swiglu}: h = silu(g) * u over n elements (h may be g). */
    public void swiglu(long h, long g, long u, long n) {
        launch(
                CudaKernel.SWIGLU_FORWARD,
                flat(n),
                KernelArgs.of().ptr(h).ptr(g).ptr(u).i64(n));
    }

    /** {@code MathOps.swigluBackward}, OVERWRITING dg and du. */
    public void swigluBackward(long dg, long du, long dh, long g, long u, long n) {
        launch(
                CudaKernel.SWIGLU_BACKWARD,
                flat(n),
                KernelArgs.of().ptr(dg).ptr(du).ptr(dh).ptr(g).ptr(u).i64(n));
    }

    /** {@code model.nn.Dropout.forward} with stream seed {@code seed} ({@code Dropout.streamSeed}). */
    public void dropoutForward(long xd, long x, long n, float p, long seed) {
        checkP(p);
        launch(
                CudaKernel.DROPOUT_FORWARD,
                flat(n),
                KernelArgs.of().ptr(xd).ptr(x).i64(n).f32(p).i64(seed));
    }

    /** {@code model.nn.Dropout.backward}, ACCUMULATING into dx. */
    public void dropoutBackward(long dx, long dxd, long n, float p, long seed) {
        checkP(p);
        launch(
                CudaKernel.DROPOUT_BACKWARD,
                flat(n),
                KernelArgs.of().ptr(dx).ptr(dxd).i64(n).f32(p).i64(seed));
    }

    private static void checkP(float p) {
        if (!(p >= 0f && p < 1f)) throw new IllegalArgumentException("dropout probability " + p + ": expected [0, 1)");
    }

    // ---------------------------------------------------------------------------------------------- attention, loss

    /** The softmax of {@code model.nn.Attention} on probs (B, NH, Tq, Tk) over the windows lo/hi (B*Tq ints each). */
    public void windowSoftmax(long probs, long lo, long hi, int B, int NH, int Tq, int Tk) {
        launch(
                CudaKernel.WINDOW_SOFTMAX,
                LaunchGeometry.attentionRows(Tq, NH, B, Tk),
                KernelArgs.of().ptr(probs).ptr(lo).ptr(hi).i32(Tq).i32(Tk).i32(NH));
    }

    /** Its backward, in place: ds holds dP on entry and dS on return. */
    public void windowSoftmaxBackward(long ds, long probs, long lo, long hi, int B, int NH, int Tq, int Tk) {
        launch(
                CudaKernel.WINDOW_SOFTMAX_BACKWARD,
                LaunchGeometry.attentionRows(Tq, NH, B, Tk),
                KernelArgs.of()
                        .ptr(ds)
                        .ptr(probs)
                        .ptr(lo)
                        .ptr(hi)
                        .i32(Tq)
                        .i32(Tk)
                        .i32(NH));
    }

    /**
     * The loss of {@code model.nn.LmHeadLoss} per row of logits (M, V; row stride ldl) into loss (M doubles); with
     * {@code grad}, the logits are replaced by the gradient of {@code gradScale * loss}. Targets (M ints) are below V
     * or negative (no target).
     */
    public void crossEntropy(
            long logits, int ldl, long targets, long loss, int M, int V, float gradScale, boolean grad) {
        if (ldl < V) throw new IllegalArgumentException("cross-entropy: ldl " + ldl + " < V " + V);
        launch(
                CudaKernel.CROSS_ENTROPY,
                LaunchGeometry.rows(M, V),
                KernelArgs.of()
                        .ptr(logits)
                        .i32(ldl)
                        .ptr(targets)
                        .ptr(loss)
                        .i32(M)
                        .i32(V)
                        .f32(gradScale)
                        .i32(grad ? 1 : 0));
    }

    // ---------------------------------------------------------------------------------------------- element-wise

    /** y += x over n elements. */
    public void add(long y, long x, long n) {
        launch(CudaKernel.ADD, flat(n), KernelArgs.of().ptr(y).ptr(x).i64(n));
    }

    /** y[n, c] += bias[c], N rows of C, row stride ldy. */
    public void addBiasRows(long y, int ldy, long bias, int N, int C) {
        launch(
                CudaKernel.ADD_BIAS_ROWS,
                flat((long) N * C),
                KernelArgs.of().ptr(y).i32(ldy).ptr(bias).i32(N).i32(C));
    }

    /** out (bf16) = in (fp32), n elements, round to nearest even. */
    public void toBf16(long out, long in, long n) {
        launch(CudaKernel.F32_TO_BF16, flat(n), KernelArgs.of().ptr(out).ptr(in).i64(n));
    }

    /** out (N, C) = rows ids[n] of table (row stride ldt). */
    public void gatherRows(long out, long table, int ldt, long ids, int N, int C) {
        launch(
                CudaKernel.GATHER_ROWS,
                flat((long) N * C),
                KernelArgs.of().ptr(out).ptr(table).i32(ldt).ptr(ids).i32(N).i32(C));
    }

    /** dst rows rows[m] (row stride ldd) += src (M, C); the rows are distinct. */
    public void scatterAddRows(long dst, int ldd, long src, long rows, int M, int C) {
        launch(
                CudaKernel.SCATTER_ADD_ROWS,
                flat((long) M * C),
                KernelArgs.of().ptr(dst).i32(ldd).ptr(src).ptr(rows).i32(M).i32(C));
    }
}
