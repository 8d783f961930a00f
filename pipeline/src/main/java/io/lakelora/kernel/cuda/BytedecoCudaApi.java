package io.lakelora.kernel.cuda;

import static org.bytedeco.cuda.global.cublas.cublasCreate_v2;
import static org.bytedeco.cuda.global.cublas.cublasDestroy_v2;
import static org.bytedeco.cuda.global.cublas.cublasGemmEx;
import static org.bytedeco.cuda.global.cublas.cublasGemmStridedBatchedEx;
import static org.bytedeco.cuda.global.cublas.cublasGetStatusName;
import static org.bytedeco.cuda.global.cublas.cublasSetMathMode;
import static org.bytedeco.cuda.global.cudart.cuDeviceGetName;
import static org.bytedeco.cuda.global.cudart.cuGetErrorName;
import static org.bytedeco.cuda.global.cudart.cuLaunchKernel;
import static org.bytedeco.cuda.global.cudart.cuModuleGetFunction;
import static org.bytedeco.cuda.global.cudart.cuModuleLoadData;
import static org.bytedeco.cuda.global.cudart.cuModuleUnload;
import static org.bytedeco.cuda.global.cudart.cudaDeviceGetAttribute;
import static org.bytedeco.cuda.global.cudart.cudaDeviceSynchronize;
import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaGetDeviceCount;
import static org.bytedeco.cuda.global.cudart.cudaGetErrorName;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;
import static org.bytedeco.cuda.global.cudart.cudaMemGetInfo;
import static org.bytedeco.cuda.global.cudart.cudaMemcpy;
import static org.bytedeco.cuda.global.cudart.cudaMemset;
import static org.bytedeco.cuda.global.cudart.cudaSetDevice;
import static org.bytedeco.cuda.global.nvrtc.nvrtcCompileProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcCreateProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcDestroyProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetCUBIN;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetCUBINSize;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetErrorString;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetProgramLog;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetProgramLogSize;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * {@link CudaApi} over the JavaCPP bindings of the host's CUDA libraries ({@code org.bytedeco:cuda}, no
 * {@code -redist}): the runtime for memory and copies, the driver API for modules and launches, NVRTC, cuBLAS. Opened
 * with {@link #open(int)}, which first finds and loads the libraries itself ({@link CudaLibraries}: the preload path,
 * {@code LD_LIBRARY_PATH}, the loader's configuration, the system folders), so a machine without them gets the fix
 * rather than a linkage error, and the libraries used are the ones that search names.
 *
 * <p>Host arrays go through native staging buffers of at most {@link #STAGING_BYTES} at a time. Only calls present in
 * both CUDA 13.0 and 13.1 are made (13.1's new runtime functions bind lazily and would fail on a 13.0 runtime).
 * cuBLAS keeps its default math mode: fp32 products use TF32 only when {@link GemmCompute#F32_FAST_TF32} asks for it.
 */
public final class BytedecoCudaApi implements CudaApi {
    /** Bytes copied through one native staging buffer. */
    static final int STAGING_BYTES = 64 << 20;

    // cudaMemcpyKind, cudaDeviceAttr, cublasOperation_t, cublasGemmAlgo_t
    private static final int H2D = 1, D2H = 2, D2D = 3;
    private static final int ATTR_SM_COUNT = 16, ATTR_CC_MAJOR = 75, ATTR_CC_MINOR = 76;
    private static final int OP_N = 0, OP_T = 1, GEMM_DEFAULT = -1;

    private final DeviceInfo device;
    private final cublasContext blas;
    private final Map<Long, CUmod_st> modules = new HashMap<>();
    private boolean closed;

    private BytedecoCudaApi(DeviceInfo device, cublasContext blas) {
        this.device = device;
        this.blas = blas;
    }

    /**
     * The API on device {@code ordinal} (the GPU address Spark gave the task).
     *
     * @throws CudaUnavailableException when the libraries are missing or do not load, or there is no such device
     */
    public static BytedecoCudaApi open(int ordinal) {
        CudaLibraries.probe().loadAll();
        int[] count = new int[1];
        try {
            check("cudaGetDeviceCount", cudaGetDeviceCount(count));
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            throw new CudaUnavailableException("the CUDA bindings did not load (" + e.getMessage() + "). Fix: the "
                    + "host's CUDA libraries must be CUDA 13 (driver >= 580) for this build, CUDA 12 for -Pcuda12; "
                    + "point LD_LIBRARY_PATH or -Dorg.bytedeco.javacpp.platform.preloadpath at them");
        }
        if (ordinal < 0 || ordinal >= count[0]) {
            throw new CudaUnavailableException("GPU " + ordinal + " does not exist: the driver sees " + count[0]
                    + " device(s). Fix: check " + "CUDA_VISIBLE_DEVICES and the GPU address Spark gave the task");
        }
        check("cudaSetDevice", cudaSetDevice(ordinal));
        check("cudaFree(null)", cudaFree(null)); // creates the primary context the driver API calls use
        int[] v = new int[1];
        check("cudaDeviceGetAttribute", cudaDeviceGetAttribute(v, ATTR_CC_MAJOR, ordinal));
        int major = v[0];
        check("cudaDeviceGetAttribute", cudaDeviceGetAttribute(v, ATTR_CC_MINOR, ordinal));
        int minor = v[0];
        check("cudaDeviceGetAttribute", cudaDeviceGetAttribute(v, ATTR_SM_COUNT, ordinal));
        int sms = v[0];
        byte[] name = new byte[256];
        checkDriver("cuDeviceGetName", cuDeviceGetName(name, name.length, ordinal));
        int len = 0;
        while (len < name.length && name[len] != 0) len++;
        long[] mem = memInfo();
        DeviceInfo d =
                new DeviceInfo(ordinal, new String(name, 0, len, StandardCharsets.UTF_8), major, minor, mem[1], sms);
        cublasContext h = new cublasContext();
        checkBlas("cublasCreate", cublasCreate_v2(h));
        checkBlas("cublasSetMathMode", cublasSetMathMode(h, 0)); // CUBLAS_DEFAULT_MATH: no TF32 unless asked
        return new BytedecoCudaApi(d, h);
    }

    @Override
    public String name() {
        return "cuda (bytedeco " + CudaLibraries.bindingsVersion() + ")";
    }

    @Override
    public DeviceInfo device() {
        return device;
    }

    private void current() {
        if (closed) throw new IllegalStateException("the CUDA API of GPU " + device.ordinal() + " was closed");
        check("cudaSetDevice", cudaSetDevice(device.ordinal()));
    }

    /** A device address as a JavaCPP pointer (no ownership). */
    static Pointer dev(long a) {
        return new Pointer() {
            {
                this.address = a;
            }
        };
    }

    // ------------------------------------------------------------------------------------------------ memory

    @Override
    public long malloc(long bytes) {
        current();
        if (bytes <= 0) throw new IllegalArgumentException("cudaMalloc of " + bytes + " bytes");
        try (PointerPointer<Pointer> p = new PointerPointer<>(1)) {
            check("cudaMalloc(" + bytes + ")", cudaMalloc(p, bytes));
            return p.get(0).address();
        }
    }

    @Override
    public void free(long address) {
        current();
        check("cudaFree", cudaFree(dev(address)));
    }

    @Override
    public void memset(long address, int value, long bytes) {
        current();
        check("cudaMemset", cudaMemset(dev(address), value, bytes));
    }

    @Override
    public void copyToDevice(long dst, float[] src, int off, int len) {
        current();
        int step = STAGING_BYTES / 4;
        for (int i = 0; i < len; i += step) {
            int n = Math.min(step, len - i);
            try (FloatPointer p = new FloatPointer(n)) {
                p.put(src, off + i, n);
                check("cudaMemcpy host->device", cudaMemcpy(dev(dst + 4L * i), p, 4L * n, H2D));
            }
        }
    }

    @Override
    public void copyToDevice(long dst, int[] src, int off, int len) {
        current();
        int step = STAGING_BYTES / 4;
        for (int i = 0; i < len; i += step) {
            int n = Math.min(step, len - i);
            try (IntPointer p = new IntPointer(n)) {
                p.put(src, off + i, n);
                check("cudaMemcpy host->device", cudaMemcpy(dev(dst + 4L * i), p, 4L * n, H2D));
            }
        }
    }

    @Override
    public void copyToDevice(long dst, byte[] src, int off, int len) {
        current();
        for (int i = 0; i < len; i += STAGING_BYTES) {
            int n = Math.min(STAGING_BYTES, len - i);
            try (BytePointer p = new BytePointer(n)) {
                p.put(src, off + i, n);
                check("cudaMemcpy host->device", cudaMemcpy(dev(dst + i), p, n, H2D));
            }
        }
    }

    @Override
    public void copyToDevice(long dst, short[] src, int off, int len) {
        current();
        int step = STAGING_BYTES / 2;
        for (int i = 0; i < len; i += step) {
            int n = Math.min(step, len - i);
            try (ShortPointer p = new ShortPointer(n)) {
                p.put(src, off + i, n);
                check("cudaMemcpy host->device", cudaMemcpy(dev(dst + 2L * i), p, 2L * n, H2D));
            }
        }
    }

    @Override
    public void copyToHost(float[] dst, int off, int len, long src) {
        current();
        int step = STAGING_BYTES / 4;
        for (int i = 0; i < len; i += step) {
            int n = Math.min(step, len - i);
            try (FloatPointer p = new FloatPointer(n)) {
                check("cudaMemcpy device->host", cudaMemcpy(p, dev(src + 4L * i), 4L * n, D2H));
                p.get(dst, off + i, n);
            }
        }
    }

    @Override
    public void copyToHost(int[] dst, int off, int len, long src) {
        current();
        int step = STAGING_BYTES / 4;
        for (int i = 0; i < len; i += step) {
            int n = Math.min(step, len - i);
            try (IntPointer p = new IntPointer(n)) {
                check("cudaMemcpy device->host", cudaMemcpy(p, dev(src + 4L * i), 4L * n, D2H));
                p.get(dst, off + i, n);
            }
        }
    }

    @Override
    public void copyToHost(byte[] dst, int off, int len, long src) {
        current();
        for (int i = 0; i < len; i += STAGING_BYTES) {
            int n = Math.min(STAGING_BYTES, len - i);
            try (BytePointer p = new BytePointer(n)) {
                check("cudaMemcpy device->host", cudaMemcpy(p, dev(src + i), n, D2H));
                p.get(dst, off + i, n);
            }
        }
    }

    @Override
    public void copyToHost(short[] dst, int off, int len, long src) {
        current();
        int step = STAGING_BYTES / 2;
        for (int i = 0; i < len; i += step) {
            int n = Math.min(step, len - i);
            try (ShortPointer p = new ShortPointer(n)) {
                check("cudaMemcpy device->host", cudaMemcpy(p, dev(src + 2L * i), 2L * n, D2H));
                p.get(dst, off + i, n);
            }
        }
    }

    @Override
    public void copyToHost(double[] dst, int off, int len, long src) {
        current();
        int step = STAGING_BYTES / 8;
        for (int i = 0; i < len; i += step) {
            int n = Math.min(step, len - i);
            try (DoublePointer p = new DoublePointer(n)) {
                check("cudaMemcpy device->host", cudaMemcpy(p, dev(src + 8L * i), 8L * n, D2H));
                p.get(dst, off + i, n);
            }
        }
    }

    @Override
    public void copyDeviceToDevice(long dst, long src, long bytes) {
        current();
        check("cudaMemcpy device->device", cudaMemcpy(dev(dst), dev(src), bytes, D2D));
    }

    @Override
    public long[] memoryInfo() {
        current();
        return memInfo();
    }

    private static long[] memInfo() {
        try (SizeTPointer free = new SizeTPointer(1);
                SizeTPointer total = new SizeTPointer(1)) {
            check("cudaMemGetInfo", cudaMemGetInfo(free, total));
            return new long[] {free.get(), total.get()};
        }
    }

    // ------------------------------------------------------------------------------------------------ kernels

    @Override
    public byte[] compile(String source, String name, List<String> options) {
        _nvrtcProgram prog = new _nvrtcProgram();
        checkNvrtc(
                "nvrtcCreateProgram(" + name + ")",
                nvrtcCreateProgram(
                        prog, new BytePointer(source), new BytePointer(name), 0, (PointerPointer<?>) null, null));
        try {
            List<BytePointer> opts = new ArrayList<>();
            for (String o : options) opts.add(new BytePointer(o));
            int rc;
            try (PointerPointer<BytePointer> op = new PointerPointer<>(opts.toArray(new BytePointer[0]))) {
                rc = nvrtcCompileProgram(prog, opts.size(), op);
            }
            if (rc != 0) {
                throw new CudaException("nvrtcCompileProgram(" + name + ", " + options + ") failed: "
                        + nvrtcGetErrorString(rc).getString() + " (" + rc + ")\n" + log(prog));
            }
            try (SizeTPointer size = new SizeTPointer(1)) {
                checkNvrtc("nvrtcGetCUBINSize", nvrtcGetCUBINSize(prog, size));
                byte[] cubin = new byte[(int) size.get()];
                checkNvrtc("nvrtcGetCUBIN", nvrtcGetCUBIN(prog, cubin));
                return cubin;
            }
        } finally {
            nvrtcDestroyProgram(prog);
        }
    }

    private static String log(_nvrtcProgram prog) {
        try (SizeTPointer size = new SizeTPointer(1)) {
            if (nvrtcGetProgramLogSize(prog, size) != 0) return "(no log)";
            byte[] b = new byte[(int) size.get()];
            if (nvrtcGetProgramLog(prog, b) != 0) return "(no log)";
            int n = 0;
            while (n < b.length && b[n] != 0) n++;
            return new String(b, 0, n, StandardCharsets.UTF_8);
        }
    }

    @Override
    public long loadModule(byte[] cubin) {
        current();
        CUmod_st m = new CUmod_st();
        try (BytePointer image = new BytePointer(cubin.length)) {
            image.put(cubin);
            checkDriver("cuModuleLoadData", cuModuleLoadData(m, image));
        }
        modules.put(m.address(), m);
        return m.address();
    }

    @Override
    public long function(long module, String symbol) {
        current();
        CUmod_st m = modules.get(module);
        if (m == null) throw new IllegalArgumentException("module 0x" + Long.toHexString(module) + " is not loaded");
        CUfunc_st f = new CUfunc_st();
        checkDriver("cuModuleGetFunction(" + symbol + ")", cuModuleGetFunction(f, m, symbol));
        return f.address();
    }

    @Override
    public void launch(long function, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) {
        current();
        int n = args.size();
        List<Pointer> values = new ArrayList<>(n);
        try (PointerPointer<Pointer> params = new PointerPointer<>(Math.max(1, n))) {
            for (int i = 0; i < n; i++) {
                Pointer v = switch (args.kind(i)) {
                    case PTR, I64 -> new LongPointer(1).put(args.bits(i));
                    case I32 -> new IntPointer(1).put((int) args.bits(i));
                    case F32 -> new FloatPointer(1).put(Float.intBitsToFloat((int) args.bits(i)));
                };
                values.add(v);
                params.put(i, v);
            }
            checkDriver(
                    "cuLaunchKernel",
                    cuLaunchKernel(
                            new CUfunc_st(dev(function)),
                            grid.x(),
                            grid.y(),
                            grid.z(),
                            block.x(),
                            block.y(),
                            block.z(),
                            sharedBytes,
                            null,
                            params,
                            null));
        } finally {
            for (Pointer v : values) v.close();
        }
    }

    // ------------------------------------------------------------------------------------------------ cuBLAS

    @Override
    public void gemmEx(
            boolean transA,
            boolean transB,
            int m,
            int n,
            int k,
            float alpha,
            long a,
            DataType aType,
            int lda,
            long b,
            DataType bType,
            int ldb,
            float beta,
            long c,
            DataType cType,
            int ldc,
            GemmCompute compute) {
        current();
        try (FloatPointer al = new FloatPointer(1).put(alpha);
                FloatPointer be = new FloatPointer(1).put(beta)) {
            checkBlas(
                    "cublasGemmEx",
                    cublasGemmEx(
                            blas,
                            transA ? OP_T : OP_N,
                            transB ? OP_T : OP_N,
                            m,
                            n,
                            k,
                            al,
                            dev(a),
                            aType.cudaCode(),
                            lda,
                            dev(b),
                            bType.cudaCode(),
                            ldb,
                            be,
                            dev(c),
                            cType.cudaCode(),
                            ldc,
                            compute.cublasCode(),
                            GEMM_DEFAULT));
        }
    }

    @Override
    public void gemmStridedBatchedEx(
            boolean transA,
            boolean transB,
            int m,
            int n,
            int k,
            float alpha,
            long a,
            DataType aType,
            int lda,
            long strideA,
            long b,
            DataType bType,
            int ldb,
            long strideB,
            float beta,
            long c,
            DataType cType,
            int ldc,
            long strideC,
            int batch,
            GemmCompute compute) {
        current();
        try (FloatPointer al = new FloatPointer(1).put(alpha);
                FloatPointer be = new FloatPointer(1).put(beta)) {
            checkBlas(
                    "cublasGemmStridedBatchedEx",
                    cublasGemmStridedBatchedEx(
                            blas,
                            transA ? OP_T : OP_N,
                            transB ? OP_T : OP_N,
                            m,
                            n,
                            k,
                            al,
                            dev(a),
                            aType.cudaCode(),
                            lda,
                            strideA,
                            dev(b),
                            bType.cudaCode(),
                            ldb,
                            strideB,
                            be,
                            dev(c),
                            cType.cudaCode(),
                            ldc,
                            strideC,
                            batch,
                            compute.cublasCode(),
                            GEMM_DEFAULT));
        }
    }

    @Override
    public void synchronize() {
        current();
        check("cudaDeviceSynchronize", cudaDeviceSynchronize());
    }

    @Override
    public void close() {
        if (closed) return;
        current();
        for (CUmod_st m : modules.values()) cuModuleUnload(m);
        modules.clear();
        cublasDestroy_v2(blas);
        closed = true;
    }

    // ------------------------------------------------------------------------------------------------ status codes

    static void check(String call, int status) {
        if (status != 0)
            throw new CudaException(call, status, cudaGetErrorName(status).getString());
    }

    static void checkDriver(String call, int status) {
        if (status == 0) return;
        try (PointerPointer<BytePointer> s = new PointerPointer<>(1)) {
            String name =
                    cuGetErrorName(status, s) == 0 ? s.get(BytePointer.class, 0).getString() : "CUresult " + status;
            throw new CudaException(call, status, name);
        }
    }

    static void checkBlas(String call, int status) {
        if (status != 0)
            throw new CudaException(call, status, cublasGetStatusName(status).getString());
    }

    static void checkNvrtc(String call, int status) {
        if (status != 0)
            throw new CudaException(call, status, nvrtcGetErrorString(status).getString());
    }
}
