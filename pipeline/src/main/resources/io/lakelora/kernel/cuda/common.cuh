// LakeLoRA CUDA kernels: the prelude every kernel source is compiled with (CudaSources puts it in front of each file,
// so NVRTC and the nvcc check compile the same text). No #include: NVRTC compiles these with no headers at all.
//
// Rules every kernel follows (see docs/gpu.md):
// - extern "C" __global__ entry points named lakelora_*, no templates exported; the Java side (CudaKernel) declares
//   each signature and a test checks the two agree.
// - Where the Java reference computes a value with one IEEE operation per step, the kernel uses the _rn intrinsics
//   (__fmul_rn, __fadd_rn, ...) so no multiply-add is contracted: the quantized decode, RoPE, dropout and the
//   element-wise parts of the norms, SwiGLU and softmax give the reference's bits. Sums over a row are block
//   reductions (a fixed tree for a given block size, so deterministic) and differ from the reference's left-to-right
//   sums by rounding only.
// - exp is computed in double and rounded to float, as the reference's (float) Math.exp(x) does.
// - Sizes of whole tensors are long long; row and column counts are int.

typedef unsigned char ll_u8;
typedef unsigned short ll_bf16; // bfloat16 bits, as cuBLAS' CUDA_R_16BF reads them
typedef unsigned long long ll_u64;

// float -> bfloat16 bits, round to nearest even; a NaN stays a quiet NaN (PyTorch's rule; Halfs.floatToBf16)
__device__ __forceinline__ ll_bf16 ll_f32_to_bf16(float f) {
    unsigned int x = __float_as_uint(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (ll_bf16) ((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (ll_bf16) (x >> 16);
}

// (float) Math.exp(x) of the reference: the double exponential rounded once to float
__device__ __forceinline__ float ll_exp(float x) {
    return (float) exp((double) x);
}

// Math.max(a, b) for floats: NaN if either is NaN
__device__ __forceinline__ float ll_max(float a, float b) {
    if (a != a) return a;
    if (b != b) return b;
    return a >= b ? a : b;
}

// Sum of v over the block; every thread gets the result. blockDim.x is a multiple of 32 (at most 1024); red holds
// 32 floats of shared memory. The order of the additions is fixed by the block size.
__device__ __forceinline__ float ll_block_sum(float v, float* red) {
    for (int o = 16; o > 0; o >>= 1) v = __fadd_rn(v, __shfl_xor_sync(0xffffffffu, v, o));
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    if (lane == 0) red[warp] = v;
    __syncthreads();
    int warps = blockDim.x >> 5;
    if (warp == 0) {
        v = lane < warps ? red[lane] : 0.0f;
        for (int o = 16; o > 0; o >>= 1) v = __fadd_rn(v, __shfl_xor_sync(0xffffffffu, v, o));
        if (lane == 0) red[0] = v;
    }
    __syncthreads();
    float s = red[0];
    __syncthreads(); // red may be reused by the caller's next reduction
    return s;
}

// Maximum of v over the block (ll_max), as ll_block_sum.
__device__ __forceinline__ float ll_block_max(float v, float* red) {
    for (int o = 16; o > 0; o >>= 1) v = ll_max(v, __shfl_xor_sync(0xffffffffu, v, o));
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    if (lane == 0) red[warp] = v;
    __syncthreads();
    int warps = blockDim.x >> 5;
    if (warp == 0) {
        v = lane < warps ? red[lane] : -__int_as_float(0x7f800000);
        for (int o = 16; o > 0; o >>= 1) v = ll_max(v, __shfl_xor_sync(0xffffffffu, v, o));
        if (lane == 0) red[0] = v;
    }
    __syncthreads();
    float m = red[0];
    __syncthreads();
    return m;
}

// The grid-stride loop of the element-wise kernels: i over [0, n)
#define LL_FOR_EACH(i, n) \
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
         i += (long long) gridDim.x * blockDim.x)
