// Fake libcublas.so.13: a reference column-major GEMM with fp32 accumulation in k order.
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

typedef struct { int math_mode; } handle_t;

int cublasCreate_v2(void** h) { handle_t* x = calloc(1, sizeof(handle_t)); *h = x; return 0; }
int cublasDestroy_v2(void* h) { free(h); return 0; }
int cublasSetMathMode(void* h, int mode) { ((handle_t*) h)->math_mode = mode; return 0; }
int cublasSetStream_v2(void* h, void* s) { (void) h; (void) s; return 0; }

const char* cublasGetStatusName(int s) {
    switch (s) {
        case 0: return "CUBLAS_STATUS_SUCCESS";
        case 7: return "CUBLAS_STATUS_INVALID_VALUE";
        case 15: return "CUBLAS_STATUS_NOT_SUPPORTED";
        default: return "CUBLAS_STATUS_UNKNOWN";
    }
}

static float load(const void* base, long long i, int type) {
    if (type == 0) return ((const float*) base)[i];                // CUDA_R_32F
    uint32_t bits = (uint32_t) ((const uint16_t*) base)[i] << 16;  // CUDA_R_16BF
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static int gemm(int ta, int tb, int m, int n, int k, const float* alpha, const void* A, int at, int lda,
                long long sa, const void* B, int bt, int ldb, long long sb, const float* beta, void* C, int ct,
                int ldc, long long sc, int batch) {
    if (m < 0 || n < 0 || k < 0 || batch < 0) return 7;
    if (lda < (ta ? k : m) || lda < 1 || ldb < (tb ? n : k) || ldb < 1 || ldc < m || ldc < 1) return 7;
    if (ct != 0 || (at != 0 && at != 14) || (bt != 0 && bt != 14)) return 15;
    int ae = at == 0 ? 4 : 2, be = bt == 0 ? 4 : 2;
    for (int q = 0; q < batch; q++) {
        const char* a = (const char*) A + (long long) q * sa * ae;
        const char* b = (const char*) B + (long long) q * sb * be;
        float* c = (float*) C + (long long) q * sc;
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) {
                float acc = 0.0f;
                for (int p = 0; p < k; p++) {
                    long long ai = ta ? p + (long long) i * lda : i + (long long) p * lda;
                    long long bi = tb ? j + (long long) p * ldb : p + (long long) j * ldb;
                    acc += load(a, ai, at) * load(b, bi, bt);
                }
                long long ci = i + (long long) j * ldc;
                c[ci] = *beta == 0.0f ? *alpha * acc : *alpha * acc + *beta * c[ci];
            }
        }
    }
    return 0;
}

int cublasGemmEx(void* h, int ta, int tb, int m, int n, int k, const void* alpha, const void* A, int at, int lda,
                 const void* B, int bt, int ldb, const void* beta, void* C, int ct, int ldc, int compute, int algo) {
    (void) h; (void) compute; (void) algo;
    return gemm(ta, tb, m, n, k, alpha, A, at, lda, 0, B, bt, ldb, 0, beta, C, ct, ldc, 0, 1);
}

int cublasGemmStridedBatchedEx(void* h, int ta, int tb, int m, int n, int k, const void* alpha, const void* A, int at,
                               int lda, long long sa, const void* B, int bt, int ldb, long long sb, const void* beta,
                               void* C, int ct, int ldc, long long sc, int batch, int compute, int algo) {
    (void) h; (void) compute; (void) algo;
    return gemm(ta, tb, m, n, k, alpha, A, at, lda, sa, B, bt, ldb, sb, beta, C, ct, ldc, sc, batch);
}
