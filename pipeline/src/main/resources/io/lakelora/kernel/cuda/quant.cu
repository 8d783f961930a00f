// Decoding the frozen base in bitsandbytes' layout (QuantizedMatrix) into fp32 or bf16 row tiles for cuBLAS.
//
// 4-bit (NF4, FP4): W[rows, cols] flattened row-major, cut into blocks of `blocksize` consecutive elements (blocks
// may cross rows); two codes per byte, the FIRST element of a pair in the HIGH nibble. The block's absmax is either
// fp32 (`absmax` != null) or double-quantized: absmax[b] = nested_code[absmax_codes[b]] * nested_absmax[b /
// nested_blocksize] + nested_offset. Value = code[nibble] * absmax[block], each step one IEEE operation, as
// QuantizedMatrix.get computes it, so the fp32 decode is bit for bit the reference.
//
// INT8 (LLM.int8 baseline): value = (q * row_scale[r]) * dequant_scale, bitsandbytes' order.
//
// Each decode writes the tile out[r * ldo + c] = W(row0 + r, c) for r < rows, c < cols: a tile of W's rows (output
// features) for the forward y = x W^T, and a slice of the reduction for the input gradient dx = dy W.
// Geometry: element-wise (LaunchGeometry.elementwise over rows * cols).

__device__ __forceinline__ float ll_block_absmax(
        long long b,
        const float* absmax,
        const ll_u8* absmax_codes,
        const float* nested_code,
        const float* nested_absmax,
        int nested_blocksize,
        float nested_offset) {
    if (absmax != nullptr) return absmax[b];
    return __fadd_rn(__fmul_rn(nested_code[absmax_codes[b]], nested_absmax[b / nested_blocksize]), nested_offset);
}

__device__ __forceinline__ float ll_decode4(
        long long i,
        const ll_u8* packed,
        const float* code,
        int blocksize,
        const float* absmax,
        const ll_u8* absmax_codes,
        const float* nested_code,
        const float* nested_absmax,
        int nested_blocksize,
        float nested_offset) {
    unsigned int byte = packed[i >> 1];
    unsigned int nib = (i & 1) == 0 ? (byte >> 4) : (byte & 15u);
    float s = ll_block_absmax(
            i / blocksize, absmax, absmax_codes, nested_code, nested_absmax, nested_blocksize, nested_offset);
    return __fmul_rn(code[nib], s);
}

extern "C" __global__ void lakelora_dequant4_f32(
        float* out,
        int ldo,
        const ll_u8* packed,
        const float* code,
        int blocksize,
        const float* absmax,
        const ll_u8* absmax_codes,
        const float* nested_code,
        const float* nested_absmax,
        int nested_blocksize,
        float nested_offset,
        int row0,
        int rows,
        int cols) {
    long long n = (long long) rows * cols;
    LL_FOR_EACH(t, n) {
        long long r = t / cols;
        long long c = t - r * cols;
        long long i = (row0 + r) * cols + c;
        out[r * ldo + c] = ll_decode4(
                i, packed, code, blocksize, absmax, absmax_codes, nested_code, nested_absmax, nested_blocksize,
                nested_offset);
    }
}

extern "C" __global__ void lakelora_dequant4_bf16(
        ll_bf16* out,
        int ldo,
        const ll_u8* packed,
        const float* code,
        int blocksize,
        const float* absmax,
        const ll_u8* absmax_codes,
        const float* nested_code,
        const float* nested_absmax,
        int nested_blocksize,
        float nested_offset,
        int row0,
        int rows,
        int cols) {
    long long n = (long long) rows * cols;
    LL_FOR_EACH(t, n) {
        long long r = t / cols;
        long long c = t - r * cols;
        long long i = (row0 + r) * cols + c;
        out[r * ldo + c] = ll_f32_to_bf16(ll_decode4(
                i, packed, code, blocksize, absmax, absmax_codes, nested_code, nested_absmax, nested_blocksize,
                nested_offset));
    }
}

extern "C" __global__ void lakelora_dequant8_f32(
        float* out,
        int ldo,
        const signed char* q,
        const float* row_scale,
        float dequant_scale,
        int row0,
        int rows,
        int cols) {
    long long n = (long long) rows * cols;
    LL_FOR_EACH(t, n) {
        long long r = t / cols;
        long long c = t - r * cols;
        long long w = row0 + r;
        out[r * ldo + c] = __fmul_rn(__fmul_rn((float) q[w * cols + c], row_scale[w]), dequant_scale);
    }
}

extern "C" __global__ void lakelora_dequant8_bf16(
        ll_bf16* out,
        int ldo,
        const signed char* q,
        const float* row_scale,
        float dequant_scale,
        int row0,
        int rows,
        int cols) {
    long long n = (long long) rows * cols;
    LL_FOR_EACH(t, n) {
        long long r = t / cols;
        long long c = t - r * cols;
        long long w = row0 + r;
        out[r * ldo + c] =
                ll_f32_to_bf16(__fmul_rn(__fmul_rn((float) q[w * cols + c], row_scale[w]), dequant_scale));
    }
}
