package io.lakelora.safetensors;

/** IEEE half (F16) and bfloat16 (BF16) <-> float conversions, round-to-nearest-even as PyTorch does. */
public final class Halfs {
    private Halfs() {}

    /** bfloat16 bits -> float (exact). */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** float -> bfloat16 bits, round to nearest even; NaN stays a (quiet) NaN. */
    public static short floatToBf16(float f) {
        int x = Float.floatToRawIntBits(f);
        if ((x & 0x7FFFFFFF) > 0x7F800000) return (short) ((x >>> 16) | 0x0040);
        int lsb = (x >>> 16) & 1;
        return (short) ((x + 0x7FFF + lsb) >>> 16);
    }

    /** IEEE half bits -> float (exact, incl. subnormals, inf and NaN). */
    public static float f16ToFloat(short bits) {
        int h = bits & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1F;
        int mant = h & 0x3FF;
        if (exp == 0x1F) return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        if (exp == 0) {
            if (mant == 0) return Float.intBitsToFloat(sign);
            float v = mant * 0x1p-24f; // subnormal: mant * 2^-24
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** float -> IEEE half bits, round to nearest even; overflow gives infinity, NaN stays NaN. */
    public static short floatToF16(float f) {
        int x = Float.floatToRawIntBits(f);
        int sign = (x >>> 16) & 0x8000;
        int abs = x & 0x7FFFFFFF;
        if (abs > 0x7F800000) return (short) (sign | 0x7E00); // NaN
        if (abs >= 0x477FF000) return (short) (sign | 0x7C00); // >= 65520 rounds to inf
        if (abs < 0x38800000) { // below the smallest normal half 2^-14: subnormal or zero
            if (abs < 0x33000000) return (short) sign; // < 2^-25 rounds to 0 (2^-25 exactly ties to even = 0)
            int e = abs >>> 23;
            int m = (abs & 0x7FFFFF) | 0x800000;
            int shift = 126 - e; // value = m * 2^(e-150); half subnormal unit 2^-24 -> m >> (126 - e)
            int q = m >>> shift;
            int rem = m & ((1 << shift) - 1);
            int half = 1 << (shift - 1);
            if (rem > half || (rem == half && (q & 1) == 1)) q++;
            return (short) (sign | q);
        }
        int e = (abs >>> 23) - 112;
        int m = abs & 0x7FFFFF;
        int q = (e << 10) | (m >>> 13);
        int rem = m & 0x1FFF;
        if (rem > 0x1000 || (rem == 0x1000 && (q & 1) == 1)) q++; // carries into the exponent correctly
        return (short) (sign | q);
    }
}
