package io.lakelora.kernel.cuda;

/**
 * {@code model.nn.Attention} on the device, in fp32: scaled dot-product attention with grouped KV heads (query head h
 * reads KV head h / (NH / NKV)) over per-row key windows, the probabilities kept for the backward. The per-head
 * products are strided batched GEMMs: for each of the rep = NH / NKV query heads of a group, one call batched over
 * the NKV groups (query head g*rep + r sits at column (g*rep + r)*HS of a q row, so consecutive groups are rep*HS
 * apart; KV head g at g*HS). Whole T x T score matrices are computed (the window softmax zeroes what a row cannot
 * see), so the products do not skip the masked half as the CPU's row blocks do.
 *
 * <p>Layouts: q, out (B*T, NH*HS); k, v (B*T, NKV*HS); probs and the backward's scratch (B, NH, T, T); lo, hi (B*T)
 * ints, the first and last visible key row of each query row within its batch element.
 */
public final class DeviceAttention {
    private DeviceAttention() {}

    /** The shape of one attention call. */
    public record Shape(int B, int T, int NH, int NKV, int HS) {
        public Shape {
            if (B < 1 || T < 1 || NH < 1 || NKV < 1 || HS < 1 || NH % NKV != 0) {
                throw new IllegalArgumentException("attention shape " + this + ": positive, NH a multiple of NKV");
            }
        }

        int rep() {
            return NH / NKV;
        }

        int qd() {
            return NH * HS;
        }

        int kvd() {
            return NKV * HS;
        }

        long tt() {
            return (long) T * T;
        }
    }

    /**
     * Checks the host copy of the windows before they go to the device (the kernels cannot): every query row of every
     * batch element sees {@code 0 <= lo <= hi < T}.
     */
    public static void checkWindows(int[] lo, int[] hi, int B, int T) {
        if (lo.length < B * T || hi.length < B * T) {
            throw new IllegalArgumentException(
                    "attention windows: " + lo.length + "/" + hi.length + " rows for B*T = " + B * T);
        }
        for (int r = 0; r < B * T; r++) {
            if (lo[r] < 0 || hi[r] < lo[r] || hi[r] >= T) {
                throw new IllegalArgumentException("attention window of row " + r % T + " in batch element " + r / T
                        + " is [" + lo[r] + ", " + hi[r] + "], expected 0 <= lo <= hi < " + T);
            }
        }
    }

    /** out = softmax_window(q k^T / sqrt(HS)) v per head; probs receives the softmax. Overwrites out and probs. */
    public static void forward(
            DeviceOps ops, long out, long probs, long q, long k, long v, long lo, long hi, Shape s, GemmCompute cmp) {
        CudaApi api = ops.api();
        float scale = (float) (1.0 / Math.sqrt(s.HS()));
        int rep = s.rep(), QD = s.qd(), KVD = s.kvd(), T = s.T(), HS = s.HS();
        for (int b = 0; b < s.B(); b++) {
            long rowQ = 4L * b * T * QD, rowKv = 4L * b * T * KVD;
            for (int r = 0; r < rep; r++) {
                // S_h (T x T) = scale * q_h (T x HS) k_g^T, batched over the groups g
                RowMajorGemm.gemmBatched(
                        api,
                        false,
                        true,
                        T,
                        T,
                        HS,
                        scale,
                        q + rowQ + 4L * r * HS,
                        DataType.F32,
                        QD,
                        (long) rep * HS,
                        k + rowKv,
                        DataType.F32,
                        KVD,
                        HS,
                        0f,
                        probs + 4L * ((long) b * s.NH() + r) * s.tt(),
                        T,
                        rep * s.tt(),
                        s.NKV(),
                        cmp);
            }
        }
        ops.windowSoftmax(probs, lo, hi, s.B(), s.NH(), T, T);
        for (int b = 0; b < s.B(); b++) {
            long rowQ = 4L * b * T * QD, rowKv = 4L * b * T * KVD;
            for (int r = 0; r < rep; r++) {
                // out_h (T x HS) = P_h (T x T) v_g (T x HS)
                RowMajorGemm.gemmBatched(
                        api,
                        false,
                        false,
                        T,
                        HS,
                        T,
                        1f,
                        probs + 4L * ((long) b * s.NH() + r) * s.tt(),
                        DataType.F32,
                        T,
                        rep * s.tt(),
                        v + rowKv,
                        DataType.F32,
                        KVD,
                        HS,
                        0f,
                        out + rowQ + 4L * r * HS,
                        QD,
                        (long) rep * HS,
                        s.NKV(),
                        cmp);
            }
        }
    }

    /**
     * Backward of {@link #forward}, ACCUMULATING into dq, dk, dv (a KV head collects the sum over its query heads);
     * {@code ds} is scratch of the size of probs.
     */
    public static void backward(
            DeviceOps ops,
            long dq,
            long dk,
            long dv,
            long ds,
            long dout,
            long probs,
            long q,
            long k,
            long v,
            long lo,
            long hi,
            Shape s,
            GemmCompute cmp) {
        CudaApi api = ops.api();
        float scale = (float) (1.0 / Math.sqrt(s.HS()));
        int rep = s.rep(), QD = s.qd(), KVD = s.kvd(), T = s.T(), HS = s.HS(), NKV = s.NKV();
        for (int b = 0; b < s.B(); b++) {
            long rowQ = 4L * b * T * QD, rowKv = 4L * b * T * KVD;
            for (int r = 0; r < rep; r++) {
                long p = probs + 4L * ((long) b * s.NH() + r) * s.tt();
                long d = ds + 4L * ((long) b * s.NH() + r) * s.tt();
                long pStride = rep * s.tt();
                // forward: out_h = P_h v_g  =>  dv_g += P_h^T dout_h ; dP_h = dout_h v_g^T
                RowMajorGemm.gemmBatched(
                        api,
                        true,
                        false,
                        T,
                        HS,
                        T,
                        1f,
                        p,
                        DataType.F32,
                        T,
                        pStride,
                        dout + rowQ + 4L * r * HS,
                        DataType.F32,
                        QD,
                        (long) rep * HS,
                        1f,
                        dv + rowKv,
                        KVD,
                        HS,
                        NKV,
                        cmp);
                RowMajorGemm.gemmBatched(
                        api,
                        false,
                        true,
                        T,
                        T,
                        HS,
                        1f,
                        dout + rowQ + 4L * r * HS,
                        DataType.F32,
                        QD,
                        (long) rep * HS,
                        v + rowKv,
                        DataType.F32,
                        KVD,
                        HS,
                        0f,
                        d,
                        T,
                        pStride,
                        NKV,
                        cmp);
            }
        }
        // forward: P = softmax(S) over the window  =>  dS = P * (dP - rowsum(P dP))
        ops.windowSoftmaxBackward(ds, probs, lo, hi, s.B(), s.NH(), T, T);
        for (int b = 0; b < s.B(); b++) {
            long rowQ = 4L * b * T * QD, rowKv = 4L * b * T * KVD;
            for (int r = 0; r < rep; r++) {
                long d = ds + 4L * ((long) b * s.NH() + r) * s.tt();
                long dStride = rep * s.tt();
                // forward: S_h = scale q_h k_g^T  =>  dq_h += scale dS_h k_g ; dk_g += scale dS_h^T q_h
                RowMajorGemm.gemmBatched(
                        api,
                        false,
                        false,
                        T,
                        HS,
                        T,
                        scale,
                        d,
                        DataType.F32,
                        T,
                        dStride,
                        k + rowKv,
                        DataType.F32,
                        KVD,
                        HS,
                        1f,
                        dq + rowQ + 4L * r * HS,
                        QD,
                        (long) rep * HS,
                        NKV,
                        cmp);
                RowMajorGemm.gemmBatched(
                        api,
                        true,
                        false,
                        T,
                        HS,
                        T,
                        scale,
                        d,
                        DataType.F32,
                        T,
                        dStride,
                        q + rowQ + 4L * r * HS,
                        DataType.F32,
                        QD,
                        (long) rep * HS,
                        1f,
                        dk + rowKv,
                        KVD,
                        HS,
                        NKV,
                        cmp);
            }
        }
    }
}
