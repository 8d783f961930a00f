package io.lakelora.kernel.cuda;

/**
 * cuBLAS' {@code cublasComputeType_t} for {@code cublasGemmEx}: how the products are computed. Every choice here
 * accumulates in fp32.
 */
public enum GemmCompute {
    /**
     * {@code CUBLAS_COMPUTE_32F}: fp32 accumulation; bf16 inputs run on the tensor cores; fp32 inputs stay fp32 (no
     * TF32) while the handle's math mode does not allow TF32 (the backend never sets it).
     */
    F32(68),
    /** {@code CUBLAS_COMPUTE_32F_PEDANTIC}: fp32 throughout, no reduced-precision shortcut (the parity mode). */
    F32_PEDANTIC(69),
    /** {@code CUBLAS_COMPUTE_32F_FAST_TF32}: fp32 inputs rounded to TF32 on the tensor cores. */
    F32_FAST_TF32(77);

    private final int cublasCode;

    GemmCompute(int cublasCode) {
        this.cublasCode = cublasCode;
    }

    /** The {@code cublasComputeType_t} value. */
    public int cublasCode() {
        return cublasCode;
    }
}
