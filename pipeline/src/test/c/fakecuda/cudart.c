// Fake libcudart.so.13: device memory is host memory.
#include <stdlib.h>
#include <string.h>
#include <stddef.h>

static int current_device = 0;

int cudaSetDevice(int d) { if (d != 0) return 101; current_device = d; return 0; } // 101: cudaErrorInvalidDevice
int cudaGetDevice(int* d) { *d = current_device; return 0; }
int cudaGetDeviceCount(int* n) { *n = 1; return 0; }
int cudaInitDevice(int d, unsigned int flags, unsigned int dflags) { (void) flags; (void) dflags; return d == 0 ? 0 : 101; }

int cudaDeviceGetAttribute(int* v, int attr, int dev) {
    if (dev != 0) return 101;
    switch (attr) {
        case 75: *v = 9; return 0;   // cudaDevAttrComputeCapabilityMajor
        case 76: *v = 0; return 0;   // cudaDevAttrComputeCapabilityMinor
        case 16: *v = 4; return 0;   // cudaDevAttrMultiProcessorCount
        default: *v = 0; return 0;
    }
}

int cudaMemGetInfo(size_t* free_bytes, size_t* total) { *free_bytes = (size_t) 3 << 30; *total = (size_t) 4 << 30; return 0; }

int cudaMalloc(void** p, size_t n) {
    *p = malloc(n == 0 ? 1 : n);
    return *p == NULL ? 2 : 0; // 2: cudaErrorMemoryAllocation
}

int cudaFree(void* p) { free(p); return 0; }

int cudaMemcpy(void* dst, const void* src, size_t n, int kind) {
    if (kind < 0 || kind > 4) return 21; // cudaErrorInvalidMemcpyDirection
    memmove(dst, src, n);
    return 0;
}

int cudaMemset(void* p, int v, size_t n) { memset(p, v, n); return 0; }
int cudaDeviceSynchronize(void) { return 0; }
int cudaGetLastError(void) { return 0; }

const char* cudaGetErrorName(int e) {
    switch (e) {
        case 0: return "cudaSuccess";
        case 2: return "cudaErrorMemoryAllocation";
        case 101: return "cudaErrorInvalidDevice";
        default: return "cudaErrorUnknown";
    }
}

const char* cudaGetErrorString(int e) { return cudaGetErrorName(e); }
