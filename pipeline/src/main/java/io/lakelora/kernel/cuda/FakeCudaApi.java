package io.lakelora.kernel.cuda;

import io.lakelora.safetensors.Halfs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@link CudaApi} in host memory, for tests of the host logic without a GPU: each allocation is a little-endian
 * buffer at a fake device address (with an unmapped gap after it, so an access past its end fails loudly, where a GPU
 * might silently read a neighbour), copies check their ranges, and cuBLAS' argument rules ({@code lda >= m}
 * ...) are enforced as cuBLAS enforces them.
 *
 * <p>"Compiling" wraps the source into a fake cubin; loading one finds its {@code extern "C"} entries; a launch runs
 * the entry's Java implementation ({@link FakeKernels}), which follows the CUDA C source step for step (and for
 * RMSNorm and SwiGLU calls the reference {@link io.lakelora.kernel.ScalarMathOps}) and honours the grid: a row kernel
 * sees only the rows its grid covers. The GEMMs are a reference column-major loop with fp32 accumulation in k order
 * for every {@link GemmCompute} (no TF32 rounding), so through {@link RowMajorGemm} they give
 * {@link io.lakelora.kernel.ScalarKernels#sgemm}'s bits.
 */
public final class FakeCudaApi implements CudaApi {
    /** The first fake device address (far from 0, so a null or small integer is never a valid address). */
    static final long BASE = 0x7000_0000_0000L;

    private static final String CUBIN_MAGIC = "LAKELORA-FAKE-CUBIN\n";
    private static final Pattern ENTRY = Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+void\\s+(\\w+)\\s*\\(");

    private final DeviceInfo device;
    private final TreeMap<Long, ByteBuffer> allocations = new TreeMap<>();
    private long next = BASE;
    private long used;
    private final Map<Long, Set<String>> modules = new HashMap<>();
    private final Map<Long, CudaKernel> functions = new HashMap<>();
    private final List<String> compiled = new ArrayList<>();
    private long handles = 1;
    private int launches;
    private int gemms;
    private boolean closed;

    /** A fake H100-like device (sm90, 132 multiprocessors) with {@code totalBytes} of memory. */
    public FakeCudaApi(long totalBytes) {
        this(new DeviceInfo(0, "fake sm90", 9, 0, totalBytes, 132));
    }

    public FakeCudaApi(DeviceInfo device) {
        this.device = device;
    }

    @Override
    public String name() {
        return "fake";
    }

    @Override
    public DeviceInfo device() {
        return device;
    }

    // ------------------------------------------------------------------------------------------------ memory

    @Override
    public long malloc(long bytes) {
        open();
        if (bytes <= 0) throw new CudaException("cudaMalloc of " + bytes + " bytes: expected > 0");
        if (bytes > Integer.MAX_VALUE - 8) {
            throw new UnsupportedOperationException("the fake allocates at most 2 GiB at once, asked " + bytes);
        }
        if (used + bytes > device.totalBytes()) throw new CudaException("cudaMalloc", 2, "cudaErrorMemoryAllocation");
        long address = next;
        allocations.put(address, ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN));
        used += bytes;
        next = address + (bytes + 255) / 256 * 256 + 4096; // an unmapped gap after every allocation
        return address;
    }

    @Override
    public void free(long address) {
        open();
        ByteBuffer b = allocations.remove(address);
        if (b == null) throw new CudaException("cudaFree(0x" + Long.toHexString(address) + "): not an allocation");
        used -= b.capacity();
    }

    /** Bytes allocated now. */
    public long allocatedBytes() {
        return used;
    }

    /** Allocations alive now. */
    public int allocationCount() {
        return allocations.size();
    }

    /** The buffer and offset of {@code [address, address + bytes)}, which must lie inside one allocation. */
    Slice slice(long address, long bytes, String what) {
        Map.Entry<Long, ByteBuffer> e = allocations.floorEntry(address);
        if (e == null || address + bytes > e.getKey() + e.getValue().capacity() || bytes < 0) {
            String near = e == null
                    ? "no allocation below it"
                    : "nearest allocation 0x" + Long.toHexString(e.getKey()) + " of "
                            + e.getValue().capacity() + " bytes";
            throw new CudaException(what + ": " + bytes + " bytes at 0x" + Long.toHexString(address)
                    + " are outside every allocation (" + near + ")");
        }
        return new Slice(
                e.getValue(),
                (int) (address - e.getKey()),
                e.getKey() + e.getValue().capacity() - address);
    }

    /** A device range as the fake sees it: its allocation's buffer, the byte offset in it, the bytes to its end. */
    record Slice(ByteBuffer buf, int offset, long remaining) {}

    @Override
    public void memset(long address, int value, long bytes) {
        open();
        Slice s = slice(address, bytes, "cudaMemset");
        for (int i = 0; i < bytes; i++) s.buf().put(s.offset() + i, (byte) value);
    }

    @Override
    public void copyToDevice(long dst, float[] src, int off, int len) {
        Slice s = slice(dst, 4L * len, "cudaMemcpy host->device");
        for (int i = 0; i < len; i++) s.buf().putFloat(s.offset() + 4 * i, src[off + i]);
    }

    @Override
    public void copyToDevice(long dst, int[] src, int off, int len) {
        Slice s = slice(dst, 4L * len, "cudaMemcpy host->device");
        for (int i = 0; i < len; i++) s.buf().putInt(s.offset() + 4 * i, src[off + i]);
    }

    @Override
    public void copyToDevice(long dst, byte[] src, int off, int len) {
        Slice s = slice(dst, len, "cudaMemcpy host->device");
        for (int i = 0; i < len; i++) s.buf().put(s.offset() + i, src[off + i]);
    }

    @Override
    public void copyToDevice(long dst, short[] src, int off, int len) {
        Slice s = slice(dst, 2L * len, "cudaMemcpy host->device");
        for (int i = 0; i < len; i++) s.buf().putShort(s.offset() + 2 * i, src[off + i]);
    }

    @Override
    public void copyToHost(float[] dst, int off, int len, long src) {
        Slice s = slice(src, 4L * len, "cudaMemcpy device->host");
        for (int i = 0; i < len; i++) dst[off + i] = s.buf().getFloat(s.offset() + 4 * i);
    }

    @Override
    public void copyToHost(int[] dst, int off, int len, long src) {
        Slice s = slice(src, 4L * len, "cudaMemcpy device->host");
        for (int i = 0; i < len; i++) dst[off + i] = s.buf().getInt(s.offset() + 4 * i);
    }

    @Override
    public void copyToHost(byte[] dst, int off, int len, long src) {
        Slice s = slice(src, len, "cudaMemcpy device->host");
        for (int i = 0; i < len; i++) dst[off + i] = s.buf().get(s.offset() + i);
    }

    @Override
    public void copyToHost(short[] dst, int off, int len, long src) {
        Slice s = slice(src, 2L * len, "cudaMemcpy device->host");
        for (int i = 0; i < len; i++) dst[off + i] = s.buf().getShort(s.offset() + 2 * i);
    }

    @Override
    public void copyToHost(double[] dst, int off, int len, long src) {
        Slice s = slice(src, 8L * len, "cudaMemcpy device->host");
        for (int i = 0; i < len; i++) dst[off + i] = s.buf().getDouble(s.offset() + 8 * i);
    }

    @Override
    public void copyDeviceToDevice(long dst, long src, long bytes) {
        Slice d = slice(dst, bytes, "cudaMemcpy device->device");
        Slice s = slice(src, bytes, "cudaMemcpy device->device");
        byte[] tmp = new byte[(int) bytes];
        for (int i = 0; i < bytes; i++) tmp[i] = s.buf().get(s.offset() + i);
        for (int i = 0; i < bytes; i++) d.buf().put(d.offset() + i, tmp[i]);
    }

    // ------------------------------------------------------------------------------------------------ kernels

    @Override
    public byte[] compile(String source, String name, List<String> options) {
        open();
        if (!source.contains("extern \"C\"")) {
            throw new CudaException("nvrtcCompileProgram(" + name + "): no extern \"C\" entry point (fake compile)");
        }
        compiled.add(name);
        return (CUBIN_MAGIC + String.join(" ", options) + "\n" + source).getBytes(StandardCharsets.UTF_8);
    }

    /** The names of the sources compiled so far, in order (to test the cubin cache). */
    public List<String> compiledSources() {
        return List.copyOf(compiled);
    }

    @Override
    public long loadModule(byte[] cubin) {
        open();
        String text = new String(cubin, StandardCharsets.UTF_8);
        if (!text.startsWith(CUBIN_MAGIC)) throw new CudaException("cuModuleLoadData", 200, "CUDA_ERROR_INVALID_IMAGE");
        Set<String> names = new HashSet<>();
        Matcher m = ENTRY.matcher(text);
        while (m.find()) names.add(m.group(1));
        long h = handles++;
        modules.put(h, names);
        return h;
    }

    @Override
    public long function(long module, String symbol) {
        Set<String> names = modules.get(module);
        if (names == null) throw new CudaException("cuModuleGetFunction", 400, "CUDA_ERROR_INVALID_HANDLE");
        if (!names.contains(symbol))
            throw new CudaException("cuModuleGetFunction(" + symbol + ")", 500, "CUDA_ERROR_NOT_FOUND");
        CudaKernel k = CudaKernel.bySymbol(symbol);
        if (k == null) throw new UnsupportedOperationException("the fake has no implementation of " + symbol);
        long h = handles++;
        functions.put(h, k);
        return h;
    }

    @Override
    public void launch(long function, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) {
        open();
        CudaKernel k = functions.get(function);
        if (k == null) throw new CudaException("cuLaunchKernel", 400, "CUDA_ERROR_INVALID_HANDLE");
        if (block.volume() > 1024
                || block.z() > 64
                || grid.y() > 65535
                || grid.z() > 65535
                || sharedBytes > 48 * 1024) {
            throw new CudaException(
                    "cuLaunchKernel(" + k.symbol() + ", grid " + grid + ", block " + block + ")",
                    1,
                    "CUDA_ERROR_INVALID_VALUE");
        }
        args.check(k);
        launches++;
        FakeKernels.run(this, k, grid, block, args);
    }

    /** Kernel launches so far. */
    public int launchCount() {
        return launches;
    }

    /** GEMM calls so far. */
    public int gemmCount() {
        return gemms;
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
        gemmStridedBatchedEx(
                transA, transB, m, n, k, alpha, a, aType, lda, 0, b, bType, ldb, 0, beta, c, cType, ldc, 0, 1, compute);
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
        open();
        // cuBLAS' checks (CUBLAS_STATUS_INVALID_VALUE = 7)
        if (m < 0 || n < 0 || k < 0 || batch < 0) throw invalid("negative size m=" + m + " n=" + n + " k=" + k);
        if (lda < Math.max(1, transA ? k : m)) throw invalid("lda " + lda + " < " + (transA ? k : m));
        if (ldb < Math.max(1, transB ? n : k)) throw invalid("ldb " + ldb + " < " + (transB ? n : k));
        if (ldc < Math.max(1, m)) throw invalid("ldc " + ldc + " < " + m);
        if (cType != DataType.F32)
            throw new UnsupportedOperationException("the fake GEMM writes F32 only, not " + cType);
        gemms++;
        if (m == 0 || n == 0) return;
        int ar = transA ? k : m, ac = transA ? m : k; // A as stored: ar x ac, column-major
        int br = transB ? n : k, bc = transB ? k : n;
        for (int q = 0; q < batch; q++) {
            Slice sa = k == 0 ? null : slice(a + q * strideA * aType.bytes(), extent(ar, ac, lda, aType), "gemm A");
            Slice sb = k == 0 ? null : slice(b + q * strideB * bType.bytes(), extent(br, bc, ldb, bType), "gemm B");
            Slice sc = slice(c + q * strideC * 4, extent(m, n, ldc, DataType.F32), "gemm C");
            for (int j = 0; j < n; j++) {
                for (int i = 0; i < m; i++) {
                    float acc = 0f;
                    for (int p = 0; p < k; p++) {
                        long ai = transA ? p + (long) i * lda : i + (long) p * lda;
                        long bi = transB ? j + (long) p * ldb : p + (long) j * ldb;
                        acc += read(sa, ai, aType) * read(sb, bi, bType);
                    }
                    int ci = sc.offset() + 4 * (i + j * ldc);
                    float v = beta == 0f
                            ? alpha * acc
                            : alpha * acc + beta * sc.buf().getFloat(ci);
                    sc.buf().putFloat(ci, v);
                }
            }
        }
    }

    /** Bytes spanned by a column-major rows x cols matrix with leading dimension ld. */
    private static long extent(int rows, int cols, int ld, DataType t) {
        if (rows == 0 || cols == 0) return 0;
        return ((long) (cols - 1) * ld + rows) * t.bytes();
    }

    private static float read(Slice s, long i, DataType t) {
        return switch (t) {
            case F32 -> s.buf().getFloat(s.offset() + (int) (4 * i));
            case BF16 -> Halfs.bf16ToFloat(s.buf().getShort(s.offset() + (int) (2 * i)));
            case F16 -> Halfs.f16ToFloat(s.buf().getShort(s.offset() + (int) (2 * i)));
        };
    }

    private static CudaException invalid(String why) {
        return new CudaException("cublasGemmEx: " + why + " (CUBLAS_STATUS_INVALID_VALUE, 7)");
    }

    @Override
    public void synchronize() {
        open();
    }

    @Override
    public long[] memoryInfo() {
        return new long[] {device.totalBytes() - used, device.totalBytes()};
    }

    @Override
    public void close() {
        closed = true;
    }

    private void open() {
        if (closed) throw new IllegalStateException("the fake CUDA API was closed");
    }
}
