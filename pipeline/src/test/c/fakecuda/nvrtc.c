// Fake libnvrtc.so.13: "compiles" by wrapping the source into an image the fake libcuda loads.
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

typedef struct { char* src; char* image; char* log; } program_t;

const char* nvrtcGetErrorString(int r) {
    switch (r) {
        case 0: return "NVRTC_SUCCESS";
        case 5: return "NVRTC_ERROR_INVALID_OPTION";
        case 6: return "NVRTC_ERROR_COMPILATION";
        default: return "NVRTC_ERROR_UNKNOWN";
    }
}

int nvrtcCreateProgram(void** prog, const char* src, const char* name, int nh, const char* const* h,
                       const char* const* inc) {
    (void) name; (void) nh; (void) h; (void) inc;
    program_t* p = calloc(1, sizeof(program_t));
    p->src = strdup(src);
    p->log = strdup("");
    *prog = p;
    return 0;
}

int nvrtcCompileProgram(void* prog, int n, const char* const* options) {
    program_t* p = (program_t*) prog;
    size_t len = strlen("FAKECUBIN\n") + strlen(p->src) + 2;
    int arch = 0;
    for (int i = 0; i < n; i++) {
        len += strlen(options[i]) + 1;
        if (strncmp(options[i], "--gpu-architecture=sm_", 22) == 0) arch = 1;
    }
    if (!arch) {
        free(p->log);
        p->log = strdup("fake nvrtc: no --gpu-architecture=sm_XY option");
        return 5;
    }
    if (strstr(p->src, "#error") != NULL) {
        free(p->log);
        p->log = strdup("kernel.cu(1): error: #error directive: fake compile failure");
        return 6;
    }
    p->image = malloc(len);
    strcpy(p->image, "FAKECUBIN\n");
    for (int i = 0; i < n; i++) {
        strcat(p->image, options[i]);
        strcat(p->image, " ");
    }
    strcat(p->image, "\n");
    strcat(p->image, p->src);
    return 0;
}

int nvrtcGetProgramLogSize(void* prog, size_t* n) { *n = strlen(((program_t*) prog)->log) + 1; return 0; }
int nvrtcGetProgramLog(void* prog, char* log) { strcpy(log, ((program_t*) prog)->log); return 0; }
int nvrtcGetCUBINSize(void* prog, size_t* n) { *n = strlen(((program_t*) prog)->image) + 1; return 0; }
int nvrtcGetCUBIN(void* prog, char* out) { strcpy(out, ((program_t*) prog)->image); return 0; }

int nvrtcDestroyProgram(void** prog) {
    program_t* p = (program_t*) *prog;
    free(p->src);
    free(p->image);
    free(p->log);
    free(p);
    *prog = NULL;
    return 0;
}
