package io.lakelora.kernel.cuda;

import io.lakelora.kernel.MathOps;
import io.lakelora.kernel.ScalarMathOps;
import io.lakelora.safetensors.Halfs;

/**
 * The Java implementations of {@link CudaKernel} behind {@link FakeCudaApi}: each follows its CUDA C source (the
 * same arithmetic, one IEEE fp32 operation per step; Java never contracts a multiply-add) with the sums of the block
 * reductions taken left to right, i.e. a block of one thread. Row kernels process exactly the rows their grid
 * covers and require a block size that is a multiple of 32, as the CUDA code does; element-wise ones cover all
 * elements for any grid, as a grid-stride loop does.
 */
final class FakeKernels {
    private FakeKernels() {}

    private static final MathOps REF = ScalarMathOps.INSTANCE;

    /** A device pointer argument: the allocation from that address on; out-of-range indices fail naming the kernel. */
    private static final class Buf {
        final FakeCudaApi.Slice s;
        final String what;

        Buf(FakeCudaApi api, long address, String what) {
            this.s = api.slice(address, 0, what);
            this.what = what;
        }

        private int at(long i, int size) {
            if (i < 0 || (i + 1) * size > s.remaining()) {
                throw new CudaException(what + ": element " + i + " is outside its allocation (" + s.remaining() / size
                        + " elements from the pointer)");
            }
            return s.offset() + (int) (i * size);
        }

        float f(long i) {
            return s.buf().getFloat(at(i, 4));
        }

        void f(long i, float v) {
            s.buf().putFloat(at(i, 4), v);
        }

        int i32(long i) {
            return s.buf().getInt(at(i, 4));
        }

        int u8(long i) {
            return s.buf().get(at(i, 1)) & 0xff;
        }

        byte s8(long i) {
            return s.buf().get(at(i, 1));
        }

        void bf16(long i, float v) {
            s.buf().putShort(at(i, 2), Halfs.floatToBf16(v));
        }

        void d(long i, double v) {
            s.buf().putDouble(at(i, 8), v);
        }
    }

    private static Buf buf(FakeCudaApi api, CudaKernel k, KernelArgs a, int i) {
        long p = a.ptrAt(i);
        return p == 0 ? null : new Buf(api, p, k.symbol() + " argument " + i);
    }

    static void run(FakeCudaApi api, CudaKernel k, Dim3 grid, Dim3 block, KernelArgs a) {
        if (k.geometry() == Geometry.ROWS && (block.x() % 32 != 0 || block.y() != 1 || block.z() != 1)) {
            throw new CudaException(k.symbol() + ": block " + block + ", the block reduction needs x a multiple of 32");
        }
        switch (k) {
            case DEQUANT4_F32, DEQUANT4_BF16 -> dequant4(api, k, a);
            case DEQUANT8_F32, DEQUANT8_BF16 -> dequant8(api, k, a);
            case RMSNORM_FORWARD -> rmsnormForward(api, k, grid, a);
            case RMSNORM_BACKWARD -> rmsnormBackward(api, k, grid, a);
            case ROPE -> rope(api, k, a);
            case SWIGLU_FORWARD -> swiglu(api, k, a);
            case SWIGLU_BACKWARD -> swigluBackward(api, k, a);
            case DROPOUT_FORWARD, DROPOUT_BACKWARD -> dropout(api, k, a);
            case WINDOW_SOFTMAX -> windowSoftmax(api, k, grid, a);
            case WINDOW_SOFTMAX_BACKWARD -> windowSoftmaxBackward(api, k, grid, a);
            case CROSS_ENTROPY -> crossEntropy(api, k, grid, a);
            case ADD -> add(api, k, a);
            case ADD_BIAS_ROWS -> addBiasRows(api, k, a);
            case F32_TO_BF16 -> toBf16(api, k, a);
            case GATHER_ROWS -> gatherRows(api, k, a);
            case SCATTER_ADD_ROWS -> scatterAddRows(api, k, a);
        }
    }

    // quant.cu
    private static void dequant4(FakeCudaApi api, CudaKernel k, KernelArgs a) {
        Buf out = buf(api, k, a, 0), packed = buf(api, k, a, 2), code = buf(api, k, a, 3);
        Buf absmax = buf(api, k, a, 5), codes = buf(api, k, a, 6), nestedCode = buf(api, k, a, 7);
        Buf nestedAbsmax = buf(api, k, a, 8);
        int ldo = a.i32At(1), blocksize = a.i32At(4), nestedBs = a.i32At(9);
        float nestedOffset = a.f32At(10);
        int row0 = a.i32At(11), rows = a.i32At(12), cols = a.i32At(13);
        boolean bf16 = k == CudaKernel.DEQUANT4_BF16;
        for (long r = 0; r < rows; r++) {
            for (long c = 0; c < cols; c++) {
                long i = (row0 + r) * cols + c;
                int b = packed.u8(i >> 1);
                int nib = (i & 1) == 0 ? b >>> 4 : b & 15;
                long blk = i / blocksize;
                float s = absmax != null
                        ? absmax.f(blk)
                        : nestedCode.f(codes.u8(blk)) * nestedAbsmax.f(blk / nestedBs) + nestedOffset;
                float v = code.f(nib) * s;
                if (bf16) out.bf16(r * ldo + c, v);
                else out.f(r * ldo + c, v);
            }
        }
    }

    private static void dequant8(FakeCudaApi api, CudaKernel k, KernelArgs a) {
        Buf out = buf(api, k, a, 0), q = buf(api, k, a, 2), rowScale = buf(api, k, a, 3);
        int ldo = a.i32At(1);
        float scale = a.f32At(4);
        int row0 = a.i32At(5), rows = a.i32At(6), cols = a.i32At(7);
        for (long r = 0; r < rows; r++) {
            long w = row0 + r;
            for (long c = 0; c < cols; c++) {
                float v = (q.s8(w * cols + c) * rowScale.f(w)) * scale;
                if (k == CudaKernel.DEQUANT8_BF16) out.bf16(r * ldo + c, v);
                else out.f(r * ldo + c, v);
            }
        }
    }

    // rmsnorm.cu: the rows the grid covers, through the reference
    private static void rmsnormForward(FakeCudaApi api, CudaKernel k, Dim3 grid, KernelArgs a) {
        Buf out = buf(api, k, a, 0), rstd = buf(api, k, a, 1), inp = buf(api, k, a, 2), w = buf(api, k, a, 3);
        int N = a.i32At(4), C = a.i32At(5);
        float eps = a.f32At(6);
        float[] weight = read(w, 0, C);
        float[] o = new float[C];
        float[] r = new float[1];
        for (int n = 0; n < Math.min(N, grid.x()); n++) {
            REF.rmsNormForward(o, 0, r, 0, read(inp, (long) n * C, C), 0, weight, 1, C, eps);
            write(out, (long) n * C, o);
            if (rstd != null) rstd.f(n, r[0]);
        }
    }

    private static void rmsnormBackward(FakeCudaApi api, CudaKernel k, Dim3 grid, KernelArgs a) {
        Buf dinp = buf(api, k, a, 0), dout = buf(api, k, a, 1), inp = buf(api, k, a, 2), w = buf(api, k, a, 3);
        Buf rstd = buf(api, k, a, 4);
        int N = a.i32At(5), C = a.i32At(6);
        float[] weight = read(w, 0, C);
        for (int n = 0; n < Math.min(N, grid.x()); n++) {
            long o = (long) n * C;
            float[] di = read(dinp, o, C);
            REF.rmsNormBackward(
                    di, 0, read(dout, o, C), 0, read(inp, o, C), 0, weight, new float[] {rstd.f(n)}, 0, 1, C);
            write(dinp, o, di);
        }
    }

    // rope.cu
    private static void rope(FakeCudaApi api, CudaKernel k, KernelArgs a) {
        Buf x = buf(api, k, a, 0), pos = buf(api, k, a, 2), cos = buf(api, k, a, 3), sin = buf(api, k, a, 4);
        int ldx = a.i32At(1), N = a.i32At(5), NHx = a.i32At(6), half = a.i32At(7);
        float sign = a.f32At(8);
        for (long n = 0; n < N; n++) {
            long t0 = (long) pos.i32(n) * half;
            for (int h = 0; h < NHx; h++) {
                long base = n * ldx + (long) h * 2 * half;
                for (int i = 0; i < half; i++) {
                    float c = cos.f(t0 + i);
                    float s = sign * sin.f(t0 + i);
                    float p = x.f(base + i), q = x.f(base + i + half);
                    x.f(base + i, p * c - q * s);
                    x.f(base + i + half, q * c + p * s);
                }
            }
        }
    }

    // swiglu.cu, through the reference
    private static void swiglu(FakeCudaApi api, CudaKernel k, KernelArgs a) {
        Buf h = buf(api, k, a, 0), g = buf(api, k, a, 1), u = buf(api, k, a, 2);
        int n = Math.toIntExact(a.i64At(3));
        float[] hv = new float[n];
        REF.swiglu(hv, read(g, 0, n), read(u, 0, n), 0, n);
        write(h, 0, hv);
    }

    private static void swigluBackward(FakeCudaApi api, CudaKernel k, KernelArgs a) {
        Buf dg = buf(api, k, a, 0), du = buf(api, k, a, 1), dh = buf(api, k, a, 2);
        Buf g = buf(api, k, a, 3), u = buf(api, k, a, 4);
        int n = Math.toIntExact(a.i64At(5));
        float[] dgv = new float[n], duv = new float[n];
        REF.swigluBackward(dgv, duv, read(dh, 0, n), read(g, 0, n), read(u, 0, n), 0, n);
        write(dg, 0, dgv);
        write(du, 0, duv);
    }

    // dropout.cu
    private static void dropout(FakeCudaApi api, CudaKernel k, KernelArgs a) {
        Buf out = buf(api, k, a, 0), in = buf(api, k, a, 1);
        long n = a.i64At(2);
        float p = a.f32At(3);
        long seed = a.i64At(4);
        float scale = 1f / (1f - p);
        for (long i = 0; i < n; i++) {
            boolean keep = keep(seed, i, p);
            if (k == CudaKernel.DROPOUT_FORWARD) out.f(i, keep ? in.f(i) * scale : 0f);
            else if (keep) out.f(i, out.f(i) + in.f(i) * scale);
        }
    }

    private static boolean keep(long seed, long i, float p) {
        long z = mix64(seed + 0xBF58476D1CE4E5B9L * (i + 1));
        return (z >>> 11) * 0x1.0p-53 >= p;
    }

    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    // softmax.cu: grid (Tq, NH, B)
    private static void windowSoftmax(FakeCudaApi api, CudaKernel k, Dim3 grid, KernelArgs a) {
        Buf p = buf(api, k, a, 0), lo = buf(api, k, a, 1), hi = buf(api, k, a, 2);
        int Tq = a.i32At(3), Tk = a.i32At(4), NH = a.i32At(5);
        for (int b = 0; b < grid.z(); b++) {
            for (int h = 0; h < grid.y(); h++) {
                for (int i = 0; i < grid.x(); i++) {
                    long row = (((long) b * NH + h) * Tq + i) * Tk;
                    int s0 = lo.i32((long) b * Tq + i), s1 = hi.i32((long) b * Tq + i);
                    float[] v = read(p, row + s0, s1 - s0 + 1);
                    float max = REF.max(v, 0, v.length);
                    float sum = REF.expShiftSum(v, 0, v.length, max);
                    REF.scale(v, 0, v.length, 1f / sum);
                    for (int j = 0; j < Tk; j++) p.f(row + j, j < s0 || j > s1 ? 0f : v[j - s0]);
                }
            }
        }
    }

    private static void windowSoftmaxBackward(FakeCudaApi api, CudaKernel k, Dim3 grid, KernelArgs a) {
        Buf ds = buf(api, k, a, 0), p = buf(api, k, a, 1), lo = buf(api, k, a, 2), hi = buf(api, k, a, 3);
        int Tq = a.i32At(4), Tk = a.i32At(5), NH = a.i32At(6);
        for (int b = 0; b < grid.z(); b++) {
            for (int h = 0; h < grid.y(); h++) {
                for (int i = 0; i < grid.x(); i++) {
                    long row = (((long) b * NH + h) * Tq + i) * Tk;
                    int s0 = lo.i32((long) b * Tq + i), s1 = hi.i32((long) b * Tq + i);
                    int n = s1 - s0 + 1;
                    float[] pv = read(p, row + s0, n), dv = read(ds, row + s0, n);
                    float dot = REF.dot(pv, 0, dv, 0, n);
                    REF.mulShifted(dv, 0, pv, 0, n, dot);
                    for (int j = 0; j < Tk; j++) ds.f(row + j, j < s0 || j > s1 ? 0f : dv[j - s0]);
                }
            }
        }
    }

    // xent.cu
    private static void crossEntropy(FakeCudaApi api, CudaKernel k, Dim3 grid, KernelArgs a) {
        Buf logits = buf(api, k, a, 0), targets = buf(api, k, a, 2), loss = buf(api, k, a, 3);
        int ldl = a.i32At(1), M = a.i32At(4), V = a.i32At(5);
        float gradScale = a.f32At(6);
        boolean grad = a.i32At(7) != 0;
        for (int m = 0; m < Math.min(M, grid.x()); m++) {
            long o = (long) m * ldl;
            int t = targets.i32(m);
            if (t < 0) {
                loss.d(m, 0.0);
                if (grad) for (int j = 0; j < V; j++) logits.f(o + j, 0f);
                continue;
            }
            float[] row = read(logits, o, V);
            float target = row[t];
            float max = REF.max(row, 0, V);
            float sum = REF.expShiftSum(row, 0, V, max);
            loss.d(m, max + Math.log(sum) - target);
            if (grad) {
                REF.scale(row, 0, V, gradScale / sum);
                row[t] -= gradScale;
                write(logits, o, row);
            }
        }
    }

    // elementwise.cu
    private static void add(FakeCudaApi api, CudaKernel k, KernelArgs a) {
        Buf y = buf(api, k, a, 0), x = buf(api, k, a, 1);
        long n = a.i64At(2);
        for (long i = 0; i < n; i++) y.f(i, y.f(i) + x.f(i));
    }

    private static void addBiasRows(FakeCudaApi api, CudaKernel k, KernelArgs a) {
        Buf y = buf(api, k, a, 0), bias = buf(api, k, a, 2);
        int ldy = a.i32At(1), N = a.i32At(3), C = a.i32At(4);
        for (long n = 0; n < N; n++) for (int c = 0; c < C; c++) y.f(n * ldy + c, y.f(n * ldy + c) + bias.f(c));
    }

    private static void toBf16(FakeCudaApi api, CudaKernel k, KernelArgs a) {
        Buf out = buf(api, k, a, 0), in = buf(api, k, a, 1);
        long n = a.i64At(2);
        for (long i = 0; i < n; i++) out.bf16(i, in.f(i));
    }

    private static void gatherRows(FakeCudaApi api, CudaKernel k, KernelArgs a) {
        Buf out = buf(api, k, a, 0), table = buf(api, k, a, 1), ids = buf(api, k, a, 3);
        int ldt = a.i32At(2), N = a.i32At(4), C = a.i32At(5);
        for (long n = 0; n < N; n++) {
            long src = (long) ids.i32(n) * ldt;
            for (int c = 0; c < C; c++) out.f(n * C + c, table.f(src + c));
        }
    }

    private static void scatterAddRows(FakeCudaApi api, CudaKernel k, KernelArgs a) {
        Buf dst = buf(api, k, a, 0), src = buf(api, k, a, 2), rows = buf(api, k, a, 3);
        int ldd = a.i32At(1), M = a.i32At(4), C = a.i32At(5);
        for (long m = 0; m < M; m++) {
            long d = (long) rows.i32(m) * ldd;
            for (int c = 0; c < C; c++) dst.f(d + c, dst.f(d + c) + src.f(m * C + c));
        }
    }

    private static float[] read(Buf b, long off, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = b.f(off + i);
        return v;
    }

    private static void write(Buf b, long off, float[] v) {
        for (int i = 0; i < v.length; i++) b.f(off + i, v[i]);
    }
}
