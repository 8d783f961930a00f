// The attention softmax over document windows, as model.nn.Attention computes it: query row i of batch element b
// sees the key rows lo[b * Tq + i] .. hi[b * Tq + i] (inclusive; a causal mask is lo = 0, hi = i, packed documents
// start lo at the row's document). Scores are already scaled by 1 / sqrt(HS) (the GEMM's alpha).
// probs is (B, NH, Tq, Tk) with row stride Tk; the window's entries become softmax values, the rest exactly 0.
// Geometry: one block per row, grid (Tq, NH, B), blockDim a multiple of 32 up to 1024 (LaunchGeometry.rows).

// In place: p[j] = exp(s[j] - max) * (1 / sum) over the window, 0 elsewhere (max and sum over the window only).
extern "C" __global__ void lakelora_window_softmax(float* probs, const int* lo, const int* hi, int Tq, int Tk, int NH) {
    __shared__ float red[32];
    int i = blockIdx.x;
    int h = blockIdx.y;
    int b = blockIdx.z;
    float* row = probs + (((long long) b * NH + h) * Tq + i) * Tk;
    int a = lo[(long long) b * Tq + i];
    int e = hi[(long long) b * Tq + i];
    float m = -__int_as_float(0x7f800000);
    for (int j = a + threadIdx.x; j <= e; j += blockDim.x) m = ll_max(m, row[j]);
    m = ll_block_max(m, red);
    float s = 0.0f;
    for (int j = a + threadIdx.x; j <= e; j += blockDim.x) {
        float v = ll_exp(__fsub_rn(row[j], m));
        row[j] = v;
        s = __fadd_rn(s, v);
    }
    s = ll_block_sum(s, red); // its barriers make the exp values above visible to every thread of the block
    float inv = __fdiv_rn(1.0f, s);
    for (int j = threadIdx.x; j < Tk; j += blockDim.x) row[j] = (j < a || j > e) ? 0.0f : __fmul_rn(row[j], inv);
}

// Backward of the softmax, in place on ds: it holds dP on entry and dS on return, dS = P * (dP - sum(P dP)) over
// the window, 0 elsewhere.
extern "C" __global__ void lakelora_window_softmax_backward(
        float* ds, const float* probs, const int* lo, const int* hi, int Tq, int Tk, int NH) {
    __shared__ float red[32];
    int i = blockIdx.x;
    int h = blockIdx.y;
    int b = blockIdx.z;
    long long off = (((long long) b * NH + h) * Tq + i) * Tk;
    float* d = ds + off;
    const float* p = probs + off;
    int a = lo[(long long) b * Tq + i];
    int e = hi[(long long) b * Tq + i];
    float dot = 0.0f;
    for (int j = a + threadIdx.x; j <= e; j += blockDim.x) dot = __fadd_rn(dot, __fmul_rn(p[j], d[j]));
    dot = ll_block_sum(dot, red);
    for (int j = threadIdx.x; j < Tk; j += blockDim.x) {
        d[j] = (j < a || j > e) ? 0.0f : __fmul_rn(p[j], __fsub_rn(d[j], dot));
    }
}
