// RMSNorm of N rows of width C, as Hugging Face's LlamaRMSNorm in fp32 and MathOps.rmsNormForward / Backward.
// Geometry: one block per row (grid N), blockDim a multiple of 32 up to 1024 (LaunchGeometry.rows).

// out (N, C) = w * (x * r), r = (float) (1 / sqrt(ss / C + (double) eps)), ss = sum of x^2 over the row;
// rstd (N) receives r unless null.
extern "C" __global__ void lakelora_rmsnorm_forward(
        float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps) {
    __shared__ float red[32];
    int n = blockIdx.x;
    if (n >= N) return; // the whole block leaves together
    const float* x = inp + (long long) n * C;
    float* o = out + (long long) n * C;
    float ss = 0.0f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) ss = __fadd_rn(ss, __fmul_rn(x[c], x[c]));
    ss = ll_block_sum(ss, red);
    float r = (float) (1.0 / sqrt((double) __fdiv_rn(ss, (float) C) + (double) eps));
    if (rstd != nullptr && threadIdx.x == 0) rstd[n] = r;
    for (int c = threadIdx.x; c < C; c += blockDim.x) o[c] = __fmul_rn(weight[c], __fmul_rn(x[c], r));
}

// ACCUMULATES the input gradient: with d = sum(dout * w * x) and k = (float) ((double) d * r * r * r / C),
// dinp[c] += w[c] * dout[c] * r - x[c] * k.
extern "C" __global__ void lakelora_rmsnorm_backward(
        float* dinp, const float* dout, const float* inp, const float* weight, const float* rstd, int N, int C) {
    __shared__ float red[32];
    int n = blockIdx.x;
    if (n >= N) return;
    const float* x = inp + (long long) n * C;
    const float* d = dout + (long long) n * C;
    float* di = dinp + (long long) n * C;
    float r = rstd[n];
    float s = 0.0f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) s = __fadd_rn(s, __fmul_rn(__fmul_rn(d[c], weight[c]), x[c]));
    s = ll_block_sum(s, red);
    float k = (float) __ddiv_rn(__dmul_rn(__dmul_rn(__dmul_rn((double) s, (double) r), (double) r), (double) r), (double) C);
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float g = __fsub_rn(__fmul_rn(__fmul_rn(weight[c], d[c]), r), __fmul_rn(x[c], k));
        di[c] = __fadd_rn(di[c], g);
    }
}
