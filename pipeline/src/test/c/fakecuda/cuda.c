// Fake libcuda.so.1: modules are the fake NVRTC's images; three kernels run in C.
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>

typedef struct { char* image; } module_t;
typedef struct { char name[128]; } function_t;

int cuInit(unsigned int flags) { (void) flags; return 0; }
int cuDeviceGet(int* d, int ordinal) { if (ordinal != 0) return 101; *d = 0; return 0; }
int cuDeviceGetName(char* name, int len, int dev) {
    (void) dev;
    strncpy(name, "Fake CUDA device", (size_t) len);
    if (len > 0) name[len - 1] = 0;
    return 0;
}

int cuGetErrorName(int e, const char** s) {
    switch (e) {
        case 0: *s = "CUDA_SUCCESS"; break;
        case 200: *s = "CUDA_ERROR_INVALID_IMAGE"; break;
        case 500: *s = "CUDA_ERROR_NOT_FOUND"; break;
        case 801: *s = "CUDA_ERROR_NOT_SUPPORTED"; break;
        default: *s = "CUDA_ERROR_UNKNOWN"; break;
    }
    return 0;
}

int cuModuleLoadData(void** module, const void* image) {
    const char* text = (const char*) image;
    if (strncmp(text, "FAKECUBIN\n", 10) != 0) return 200;
    module_t* m = malloc(sizeof(module_t));
    m->image = strdup(text);
    *module = m;
    return 0;
}

int cuModuleUnload(void* module) {
    module_t* m = (module_t*) module;
    free(m->image);
    free(m);
    return 0;
}

int cuModuleGetFunction(void** fn, void* module, const char* name) {
    module_t* m = (module_t*) module;
    char decl[160];
    snprintf(decl, sizeof decl, "void %s(", name);
    if (strstr(m->image, decl) == NULL) return 500;
    function_t* f = malloc(sizeof(function_t));
    strncpy(f->name, name, sizeof f->name - 1);
    f->name[sizeof f->name - 1] = 0;
    *fn = f;
    return 0;
}

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// kernel parameters as the driver receives them: params[i] points at argument i's value
int cuLaunchKernel(void* fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned shared, void* stream, void** params, void** extra) {
    (void) shared; (void) stream; (void) extra;
    function_t* f = (function_t*) fn;
    if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0 || bx * by * bz > 1024) return 1;
    if (strcmp(f->name, "lakelora_add") == 0) {
        float* y = *(float**) params[0];
        const float* x = *(const float**) params[1];
        long long n = *(long long*) params[2];
        for (long long i = 0; i < n; i++) y[i] = y[i] + x[i];
        return 0;
    }
    if (strcmp(f->name, "lakelora_add_bias_rows") == 0) {
        float* y = *(float**) params[0];
        int ldy = *(int*) params[1];
        const float* bias = *(const float**) params[2];
        int N = *(int*) params[3], C = *(int*) params[4];
        for (int n = 0; n < N; n++) for (int c = 0; c < C; c++) y[(long long) n * ldy + c] += bias[c];
        return 0;
    }
    if (strcmp(f->name, "lakelora_dropout_forward") == 0) {
        float* xd = *(float**) params[0];
        const float* x = *(const float**) params[1];
        long long n = *(long long*) params[2];
        float p = *(float*) params[3];
        uint64_t seed = (uint64_t) *(long long*) params[4];
        float scale = 1.0f / (1.0f - p);
        for (long long i = 0; i < n; i++) {
            uint64_t z = mix64(seed + 0xBF58476D1CE4E5B9ull * (uint64_t) (i + 1));
            double u = (double) (z >> 11) * 0x1.0p-53;
            xd[i] = u >= (double) p ? x[i] * scale : 0.0f;
        }
        return 0;
    }
    return 801;
}
