// LoRA dropout with model.nn.Dropout's counter-based mask, reproduced exactly: element i of stream `seed` (the
// host's Dropout.streamSeed(step seed, layer, module)) is kept iff uniform(mix(seed + 0xBF58476D1CE4E5B9 * (i + 1)))
// >= p, uniform = (z >> 11) * 2^-53 in double, mix = SplitMix64's finalizer; 64-bit arithmetic wraps as Java's long
// does. Kept values are scaled by 1 / (1 - p) (fp32). The mask is a pure function of (seed, i), so the backward
// regenerates it. Geometry: element-wise over n.

__device__ __forceinline__ ll_u64 ll_mix64(ll_u64 z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

__device__ __forceinline__ bool ll_keep(ll_u64 seed, long long i, float p) {
    ll_u64 z = ll_mix64(seed + 0xBF58476D1CE4E5B9ull * (ll_u64) (i + 1));
    double u = (double) (z >> 11) * 0x1.0p-53;
    return u >= (double) p;
}

// xd[i] = keep(i) ? x[i] * (1 / (1 - p)) : 0
extern "C" __global__ void lakelora_dropout_forward(float* xd, const float* x, long long n, float p, long long seed) {
    float scale = __fdiv_rn(1.0f, __fsub_rn(1.0f, p));
    LL_FOR_EACH(i, n) xd[i] = ll_keep((ll_u64) seed, i, p) ? __fmul_rn(x[i], scale) : 0.0f;
}

// ACCUMULATES: dx[i] += keep(i) ? dxd[i] * (1 / (1 - p)) : 0
extern "C" __global__ void lakelora_dropout_backward(float* dx, const float* dxd, long long n, float p, long long seed) {
    float scale = __fdiv_rn(1.0f, __fsub_rn(1.0f, p));
    LL_FOR_EACH(i, n) {
        if (ll_keep((ll_u64) seed, i, p)) dx[i] = __fadd_rn(dx[i], __fmul_rn(dxd[i], scale));
    }
}
