// Rotary position embedding in Hugging Face's rotate_half layout, as model.nn.Rope: within each head of size
// HS = 2 * half, dimension i pairs with i + half; with (a, b) = (x[i], x[i + half]), c = cos_t[pos * half + i],
// s = sign * sin_t[pos * half + i]: x[i] = a c - b s, x[i + half] = b c + a s, in place. sign = 1 is the forward,
// sign = -1 its backward (the rotation by -angle, dx = R^T dout, applied to the buffer holding dout).
// The cos/sin tables (P, half) are computed on the host exactly as Rope does ((float) Math.cos of the fp32 angle
// pos * inv_freq), so every scaling style (default, linear, llama3) is in inv_freq and the device gives Rope's bits.
// x is (N, NHx * HS) with row stride ldx floats (ldx >= NHx * HS, e.g. q inside a fused qkv row); pos (N) < P
// (checked on the host). Geometry: element-wise over N * NHx * half pairs.
extern "C" __global__ void lakelora_rope(
        float* x, int ldx, const int* pos, const float* cos_t, const float* sin_t, int N, int NHx, int half, float sign) {
    long long pairs = (long long) N * NHx * half;
    LL_FOR_EACH(t, pairs) {
        int i = (int) (t % half);
        long long nh = t / half;
        int h = (int) (nh % NHx);
        long long n = nh / NHx;
        long long tab = (long long) pos[n] * half + i;
        float c = cos_t[tab];
        float s = __fmul_rn(sign, sin_t[tab]);
        float* base = x + n * ldx + (long long) h * 2 * half;
        float a = base[i];
        float b = base[i + half];
        base[i] = __fsub_rn(__fmul_rn(a, c), __fmul_rn(b, s));
        base[i + half] = __fadd_rn(__fmul_rn(b, c), __fmul_rn(a, s));
    }
}
