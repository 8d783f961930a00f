// The small element-wise and row-copy kernels of a step. Geometry: element-wise over the elements named.

// y[i] += x[i] (the residual adds)
extern "C" __global__ void lakelora_add(float* y, const float* x, long long n) {
    LL_FOR_EACH(i, n) y[i] = __fadd_rn(y[i], x[i]);
}

// y[n, c] += bias[c] for N rows of width C, row stride ldy (Qwen2's q/k/v biases)
extern "C" __global__ void lakelora_add_bias_rows(float* y, int ldy, const float* bias, int N, int C) {
    long long total = (long long) N * C;
    LL_FOR_EACH(t, total) {
        long long n = t / C;
        int c = (int) (t - n * C);
        y[n * ldy + c] = __fadd_rn(y[n * ldy + c], bias[c]);
    }
}

// out[i] = bfloat16(in[i]), round to nearest even (the activations fed to a bf16 GEMM)
extern "C" __global__ void lakelora_f32_to_bf16(ll_bf16* out, const float* in, long long n) {
    LL_FOR_EACH(i, n) out[i] = ll_f32_to_bf16(in[i]);
}

// out[n, c] = table[ids[n] * ldt + c] for N rows of width C (the embedding gather; ids checked on the host)
extern "C" __global__ void lakelora_gather_rows(float* out, const float* table, int ldt, const int* ids, int N, int C) {
    long long total = (long long) N * C;
    LL_FOR_EACH(t, total) {
        long long n = t / C;
        int c = (int) (t - n * C);
        out[t] = table[(long long) ids[n] * ldt + c];
    }
}

// dst[rows[m] * ldd + c] += src[m * C + c] for M rows of width C; the rows are distinct (each element has one
// writer), e.g. the LM head's gathered target rows going back to their positions
extern "C" __global__ void lakelora_scatter_add_rows(float* dst, int ldd, const float* src, const int* rows, int M, int C) {
    long long total = (long long) M * C;
    LL_FOR_EACH(t, total) {
        long long m = t / C;
        int c = (int) (t - m * C);
        long long d = (long long) rows[m] * ldd + c;
        dst[d] = __fadd_rn(dst[d], src[t]);
    }
}
