package io.lakelora.kernel.cuda;

import java.util.List;

/**
 * The project's thin CUDA API: the few runtime, driver, NVRTC and cuBLAS calls the backend makes, over plain
 * {@code long} device addresses. Two implementations: the real one over the JavaCPP bindings of the host's CUDA
 * libraries, and {@link FakeCudaApi}, in host memory, which runs the host logic (layouts, the column-major GEMM
 * mapping, launch geometry, workspaces) in tests without a GPU.
 *
 * <p>An instance is bound to one device ({@link #device()}), made current on the calling thread by each call; all
 * work goes to that device's default stream in call order. Copies are synchronous. Errors throw
 * {@link CudaException} naming the call.
 *
 * <p>GEMMs are cuBLAS': column-major, {@code C (m x n) = alpha op(A) op(B) + beta C} with op(A) m x k and op(B)
 * k x n; {@code beta == 0} ignores C's contents. {@link RowMajorGemm} maps the engine's row-major products onto it.
 */
public interface CudaApi extends AutoCloseable {

    /** e.g. "fake" or "cuda 13.1 (bytedeco)". */
    String name();

    /** The device this instance works on. */
    DeviceInfo device();

    // ---- memory
    /** {@code bytes > 0} of device memory, 256-byte aligned (as cudaMalloc). */
    long malloc(long bytes);

    void free(long address);

    /** Sets {@code bytes} bytes to {@code value & 0xff}. */
    void memset(long address, int value, long bytes);

    void copyToDevice(long dst, float[] src, int off, int len);

    void copyToDevice(long dst, int[] src, int off, int len);

    void copyToDevice(long dst, byte[] src, int off, int len);

    /** 16-bit elements (bf16 or f16 bits). */
    void copyToDevice(long dst, short[] src, int off, int len);

    void copyToHost(float[] dst, int off, int len, long src);

    void copyToHost(int[] dst, int off, int len, long src);

    void copyToHost(byte[] dst, int off, int len, long src);

    void copyToHost(short[] dst, int off, int len, long src);

    void copyToHost(double[] dst, int off, int len, long src);

    void copyDeviceToDevice(long dst, long src, long bytes);

    // ---- kernels
    /**
     * Compiles CUDA C {@code source} (file name {@code name} for messages) with NVRTC to a cubin for this device's SM.
     *
     * @throws CudaException with the compile log when the source does not compile
     */
    byte[] compile(String source, String name, List<String> options);

    /** Loads a cubin; returns a module handle. */
    long loadModule(byte[] cubin);

    /** The kernel {@code symbol} of a loaded module. */
    long function(long module, String symbol);

    /** Launches a kernel; {@code args} match its parameters (the caller checks them against {@link CudaKernel}). */
    void launch(long function, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args);

    // ---- cuBLAS
    /** {@code cublasGemmEx}, column-major, with the types and compute mode given. */
    void gemmEx(
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
            GemmCompute compute);

    /**
     * {@code cublasGemmStridedBatchedEx}: {@code batch} products, the i-th on {@code a + i*strideA} (elements) and so
     * on (attention's per-head products).
     */
    void gemmStridedBatchedEx(
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
            GemmCompute compute);

    /** Waits until all work on this device's stream has finished (and reports a failed asynchronous launch). */
    void synchronize();

    /** Bytes of device memory free now and in total. */
    long[] memoryInfo();

    /** Releases the cuBLAS handle and the modules (device memory is freed by its owners). */
    @Override
    void close();
}
