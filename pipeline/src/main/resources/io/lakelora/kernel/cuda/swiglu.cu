// The gated activation of the LLaMA MLP, as MathOps.swiglu / swigluBackward. Geometry: element-wise over n.

// h = g / (1 + exp(-g)) * u; h may alias g
extern "C" __global__ void lakelora_swiglu_forward(float* h, const float* g, const float* u, long long n) {
    LL_FOR_EACH(i, n) {
        float gi = g[i];
        h[i] = __fmul_rn(__fdiv_rn(gi, __fadd_rn(1.0f, ll_exp(-gi))), u[i]);
    }
}

// OVERWRITES dg and du: s = 1 / (1 + exp(-g)), du = dh * g * s, dg = dh * u * s * (1 + g * (1 - s))
extern "C" __global__ void lakelora_swiglu_backward(
        float* dg, float* du, const float* dh, const float* g, const float* u, long long n) {
    LL_FOR_EACH(i, n) {
        float gi = g[i];
        float d = dh[i];
        float s = __fdiv_rn(1.0f, __fadd_rn(1.0f, ll_exp(-gi)));
        du[i] = __fmul_rn(__fmul_rn(d, gi), s);
        dg[i] = __fmul_rn(__fmul_rn(__fmul_rn(d, u[i]), s), __fadd_rn(1.0f, __fmul_rn(gi, __fsub_rn(1.0f, s))));
    }
}
