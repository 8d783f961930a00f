package io.lakelora.quant;

/**
 * Quantizes fp32 weight matrices into {@link QuantizedMatrix} the way bitsandbytes does (the "Q" of QLoRA), bit for
 * bit where bitsandbytes itself is deterministic.
 *
 * <p><b>4-bit (NF4, FP4)</b>, as bitsandbytes' CUDA kernel {@code kQuantizeBlockwise} (used by
 * {@code quantize_4bit}, i.e. by transformers' {@code load_in_4bit}): the matrix is flattened row-major and cut into
 * blocks of {@code blocksize}; {@code absmax} = max |x| of the block (fp32); {@code inv = 1.0f / absmax};
 * each value is encoded from {@code x * inv} by the kernel's hard-coded decision trees ({@link #encodeNf4},
 * {@link #encodeFp4}: a value exactly on a threshold takes the lower code). Two codes per byte, the first element in
 * the high nibble. An odd element count is padded with one 0.0 (encoded like the kernel does: {@code 0 * inv}).
 * A block of zeros has absmax 0, so {@code x * inv} is NaN and every comparison fails: NF4 code 0 and FP4 code 0,
 * which dequantize to (-)0.
 *
 * <p><b>Double quantization</b>, as {@code quantize_4bit(compress_statistics=True)}: {@code offset = mean(absmax)};
 * {@code absmax - offset} is quantized blockwise (blocks of {@link #NESTED_BLOCKSIZE}) to 8-bit indices into
 * {@link DynamicMap#signed()}, with the same {@code x * (1 / blockAbsmax)} scaling and the kernel's search
 * ({@link DynamicMap#encode}); one fp32 absmax per nested block.
 *
 * <p><b>INT8</b> (LLM.int8 baseline, as {@code int8_vectorwise_quant}): per row, {@code rowScale = max |x|};
 * {@code q = round(x * (127f / rowScale))}, rounding half to even ({@code __float2int_rn} / {@code torch.round});
 * a zero row gives q = 0.
 *
 * <p>Where the result is not reproducible even between bitsandbytes builds, this class takes the exact fp32 operation:
 * the CUDA build uses {@code --use_fast_math}, so its {@code 1.0f / absmax} (and {@code __fdividef(127, rowmax)}) may
 * differ from the correctly rounded value by an ulp, and its {@code absmax.mean()} sums in fp32 in a device-specific
 * order; here the mean is summed in fp64 and rounded once to fp32. Either difference can move a value that lies
 * within an ulp of a decision threshold. (bitsandbytes' CPU 8-bit path differs more: it divides instead of multiplying,
 * resolves ties to the lower index and sets {@code code[0] = -1}.)
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class Quantizer {
    /** QLoRA's blocksize. */
    public static final int DEFAULT_BLOCKSIZE = 64;
    /** bitsandbytes' blocksize for the double-quantized absmax. */
    public static final int NESTED_BLOCKSIZE = 256;

    private final QuantType type;
    private final int blocksize;
    private final boolean doubleQuant;

    /**
     * @param type NF4, FP4 or INT8
     * @param blocksize 4-bit block size, a power of two in 32..4096 (ignored for INT8)
     * @param doubleQuant quantize the absmax values too (4-bit only)
     */
    public Quantizer(QuantType type, int blocksize, boolean doubleQuant) {
        if (type != QuantType.NF4 && type != QuantType.FP4 && type != QuantType.INT8) {
            throw new IllegalArgumentException("cannot quantize to '" + type.id() + "': expected nf4, fp4 or int8");
        }
        if (type == QuantType.INT8) {
            if (doubleQuant) {
                throw new IllegalArgumentException("double quantization applies to nf4/fp4 only, not int8: "
                        + "turn it off (--double-quant false) or pick a 4-bit type");
            }
        } else if (blocksize < 32 || blocksize > 4096 || Integer.bitCount(blocksize) != 1) {
            throw new IllegalArgumentException("blocksize must be a power of two in 32..4096, got " + blocksize);
        }
        this.type = type;
        this.blocksize = type == QuantType.INT8 ? 0 : blocksize;
        this.doubleQuant = doubleQuant;
    }

    /** QLoRA's storage: NF4, blocksize 64, double quantization. */
    public static Quantizer qlora() {
        return new Quantizer(QuantType.NF4, DEFAULT_BLOCKSIZE, true);
    }

    public QuantType type() {
        return type;
    }

    /** 4-bit block size; 0 for INT8. */
    public int blocksize() {
        return blocksize;
    }

    public boolean doubleQuant() {
        return doubleQuant;
    }

    /**
     * Quantizes W[rows, cols] given row-major in {@code w} (exactly rows * cols values, all finite). {@code w} is only
     * read.
     */
    public QuantizedMatrix quantize(float[] w, int rows, int cols) {
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException("matrix must be non-empty, got " + rows + "x" + cols);
        }
        long n = Math.multiplyExact((long) rows, (long) cols);
        if (w.length != n) {
            throw new IllegalArgumentException(
                    "weights have " + w.length + " values, expected " + rows + "x" + cols + " = " + n);
        }
        return type == QuantType.INT8 ? quantizeInt8(w, rows, cols) : quantize4(w, rows, cols);
    }

    private QuantizedMatrix quantize4(float[] w, int rows, int cols) {
        int n = w.length;
        int blocks = (n + blocksize - 1) / blocksize;
        byte[] packed = new byte[(n + 1) / 2];
        float[] absmax = new float[blocks];
        boolean nf4 = type == QuantType.NF4;
        for (int b = 0; b < blocks; b++) {
            int start = b * blocksize;
            int end = Math.min(n, start + blocksize);
            float amax = 0f;
            for (int i = start; i < end; i++) {
                float a = Math.abs(w[i]);
                if (!(a <= Float.MAX_VALUE)) throw nonFinite(w[i], i, cols);
                if (a > amax) amax = a;
            }
            absmax[b] = amax;
            float inv = 1.0f / amax;
            // blocksize is even, so a pair never straddles two blocks; only the very last element can be unpaired
            for (int i = start; i < end; i += 2) {
                float x0 = w[i] * inv;
                float x1 = (i + 1 < end ? w[i + 1] : 0f) * inv;
                int hi = nf4 ? nf4Search(x0) : fp4Search(x0);
                int lo = nf4 ? nf4Search(x1) : fp4Search(x1);
                packed[i >>> 1] = (byte) ((hi << 4) | lo);
            }
        }
        if (!doubleQuant) {
            return QuantizedMatrix.fourBit(type, rows, cols, blocksize, packed, absmax);
        }
        float offset = mean(absmax);
        float[] code = DynamicMap.signed();
        int nested = (blocks + NESTED_BLOCKSIZE - 1) / NESTED_BLOCKSIZE;
        float[] nestedAbsmax = new float[nested];
        byte[] absmaxCodes = new byte[blocks];
        float[] centered = new float[Math.min(blocks, NESTED_BLOCKSIZE)];
        for (int nb = 0; nb < nested; nb++) {
            int start = nb * NESTED_BLOCKSIZE;
            int len = Math.min(blocks, start + NESTED_BLOCKSIZE) - start;
            float amax = 0f;
            for (int j = 0; j < len; j++) {
                centered[j] = absmax[start + j] - offset;
                amax = Math.max(amax, Math.abs(centered[j]));
            }
            nestedAbsmax[nb] = amax;
            float inv = 1.0f / amax;
            for (int j = 0; j < len; j++) {
                absmaxCodes[start + j] = (byte) DynamicMap.encode(code, centered[j] * inv);
            }
        }
        return QuantizedMatrix.fourBitDoubleQuant(
                type, rows, cols, blocksize, packed, absmaxCodes, nestedAbsmax, code, NESTED_BLOCKSIZE, offset);
    }

    private static QuantizedMatrix quantizeInt8(float[] w, int rows, int cols) {
        byte[] q = new byte[w.length];
        float[] rowScale = new float[rows];
        for (int r = 0; r < rows; r++) {
            int off = r * cols;
            float amax = 0f;
            for (int c = 0; c < cols; c++) {
                float a = Math.abs(w[off + c]);
                if (!(a <= Float.MAX_VALUE)) throw nonFinite(w[off + c], off + c, cols);
                if (a > amax) amax = a;
            }
            rowScale[r] = amax;
            if (amax == 0f) continue; // q stays 0
            float scale = 127f / amax;
            for (int c = 0; c < cols; c++) {
                q[off + c] = (byte) Math.rint(w[off + c] * scale);
            }
        }
        return QuantizedMatrix.int8(rows, cols, q, rowScale);
    }

    /**
     * The offset that double quantization of {@code w} will use (the mean of its block absmax), computed without
     * quantizing: a writer that must size the quant-state JSON before the data uses it.
     */
    public float doubleQuantOffset(float[] w) {
        if (type == QuantType.INT8) throw new IllegalStateException("int8 has no double-quantization offset");
        int n = w.length;
        int blocks = (n + blocksize - 1) / blocksize;
        float[] absmax = new float[blocks];
        for (int b = 0; b < blocks; b++) {
            float amax = 0f;
            for (int i = b * blocksize, end = Math.min(n, i + blocksize); i < end; i++) {
                float a = Math.abs(w[i]);
                if (a > amax) amax = a;
            }
            absmax[b] = amax;
        }
        return mean(absmax);
    }

    private static IllegalArgumentException nonFinite(float v, int i, int cols) {
        return new IllegalArgumentException("cannot quantize a non-finite weight " + v + " at row " + (i / cols)
                + ", column " + (i % cols) + ": the source tensor is corrupt or overflowed; fix or re-export it");
    }

    /**
     * The double-quantization offset: the mean of the absmax values, summed in fp64 and rounded once to fp32
     * (bitsandbytes uses {@code absmax.mean()}, an fp32 sum whose order depends on the device).
     */
    static float mean(float[] v) {
        double sum = 0;
        for (float x : v) sum += x;
        return (float) (sum / v.length);
    }

    // The kernels' thresholds in ascending order; code = number of thresholds strictly below x, which is what the
    // trees below compute (NaN is below none). The quantize loop uses these branch-free searches (3-5x faster than
    // the trees on real data); the tests check both forms agree.
    private static final float[] NF4_THRESHOLDS = {
        -0.8480964004993439f,
        -0.6106329262256622f,
        -0.4599952697753906f,
        -0.33967943489551544f,
        -0.23460740596055984f,
        -0.13791173323988914f,
        -0.045525018125772476f,
        0.03979014977812767f,
        0.1202552504837513f,
        0.2035212516784668f,
        0.2920137718319893f,
        0.3893125355243683f,
        0.5016634166240692f,
        0.6427869200706482f,
        0.8614784181118011f
    };
    private static final float[] FP4_THRESHOLDS = {
        0.00260417f, 0.0859375f, 0.20833333f, 0.29166667f, 0.4166667f, 0.583333f, 0.8333333f
    };
    /** FP4 magnitude rank (0 = 0.0 ... 7 = 12/12) to its E2M1 bit pattern. */
    private static final int[] FP4_RANK_TO_BITS = {0b000, 0b001, 0b110, 0b111, 0b100, 0b101, 0b010, 0b011};

    /** {@link #encodeNf4} as a branch-free binary search over the 15 thresholds. */
    static int nf4Search(float x) {
        float[] t = NF4_THRESHOLDS;
        int i = x > t[7] ? 8 : 0;
        i += x > t[i + 3] ? 4 : 0;
        i += x > t[i + 1] ? 2 : 0;
        i += x > t[i] ? 1 : 0;
        return i;
    }

    /** {@link #encodeFp4} as a branch-free binary search over the 7 magnitude thresholds. */
    static int fp4Search(float x) {
        float[] t = FP4_THRESHOLDS;
        float a = Math.abs(x);
        int i = a > t[3] ? 4 : 0;
        i += a > t[i + 1] ? 2 : 0;
        i += a > t[i] ? 1 : 0;
        return FP4_RANK_TO_BITS[i] | (x < 0 ? 0b1000 : 0);
    }

    /**
     * The NF4 code of a value scaled into [-1, 1]: bitsandbytes' {@code dQuantizeNF4} decision tree, with its
     * hard-coded fp32 midpoints between adjacent NF4 values; a value equal to a midpoint takes the lower code, NaN
     * takes code 0.
     */
    public static int encodeNf4(float x) {
        if (x > 0.03979014977812767f) {
            if (x > 0.3893125355243683f) {
                if (x > 0.6427869200706482f) {
                    return x > 0.8614784181118011f ? 0b1111 : 0b1110;
                }
                return x > 0.5016634166240692f ? 0b1101 : 0b1100;
            }
            if (x > 0.2035212516784668f) {
                return x > 0.2920137718319893f ? 0b1011 : 0b1010;
            }
            return x > 0.1202552504837513f ? 0b1001 : 0b1000;
        }
        if (x > -0.33967943489551544f) {
            if (x > -0.13791173323988914f) {
                return x > -0.045525018125772476f ? 0b0111 : 0b0110;
            }
            return x > -0.23460740596055984f ? 0b0101 : 0b0100;
        }
        if (x > -0.6106329262256622f) {
            return x > -0.4599952697753906f ? 0b0011 : 0b0010;
        }
        return x > -0.8480964004993439f ? 0b0001 : 0b0000;
    }

    /**
     * The FP4 (E2M1) code of a value scaled into [-1, 1]: bitsandbytes' {@code dQuantizeFP4} tree. The sign bit is
     * set for x &lt; 0 (not for -0.0); the magnitude is compared against the midpoints of {0, 0.0625, 2, 3, 4, 6, 8, 12}
     * / 12, a value on a midpoint takes the lower magnitude; NaN takes code 0.
     */
    public static int encodeFp4(float x) {
        int sign = x < 0 ? 0b1000 : 0;
        float a = Math.abs(x);
        if (a > 0.29166667f) {
            if (a > 0.583333f) {
                return (a > 0.8333333f ? 0b0011 : 0b0010) + sign;
            }
            return (a > 0.4166667f ? 0b0101 : 0b0100) + sign;
        }
        if (a > 0.0859375f) {
            return (a > 0.20833333f ? 0b0111 : 0b0110) + sign;
        }
        return (a > 0.00260417f ? 0b0001 : 0b0000) + sign;
    }
}
