package io.lakelora.kernel.cuda;

/** Element types of device matrices as cuBLAS names them ({@code cudaDataType}: the code and the element size). */
public enum DataType {
    /** {@code CUDA_R_32F}. */
    F32(0, 4),
    /** {@code CUDA_R_16F} (IEEE half). */
    F16(2, 2),
    /** {@code CUDA_R_16BF} (bfloat16). */
    BF16(14, 2);

    private final int cudaCode;
    private final int bytes;

    DataType(int cudaCode, int bytes) {
        this.cudaCode = cudaCode;
        this.bytes = bytes;
    }

    /** The {@code cudaDataType} value. */
    public int cudaCode() {
        return cudaCode;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }
}
