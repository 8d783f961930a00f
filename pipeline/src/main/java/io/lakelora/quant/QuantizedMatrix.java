package io.lakelora.quant;

import java.util.Objects;

/**
 * A frozen, read-only quantized weight W[rows, cols] (PyTorch linear layout [out, in]) in bitsandbytes' format.
 *
 * <p>4-bit types (NF4, FP4): the matrix is flattened row-major and cut into blocks of {@code blocksize} consecutive
 * elements (blocks may cross row boundaries when cols % blocksize != 0). Two codes per byte, the FIRST element of a
 * pair in the HIGH nibble. Each block has an absmax; with double quantization the absmax values are stored as 8-bit
 * codes into {@code nestedCode} (bitsandbytes' signed dynamic map), one fp32 {@code nestedAbsmax} per 256 blocks
 * ({@code nestedBlocksize}), plus {@code nestedOffset} (the mean absmax):
 * {@code absmax[b] = nestedCode[absmaxCodes[b] & 0xff] * nestedAbsmax[b / nestedBlocksize] + nestedOffset}.
 * Without double quantization {@code absmax} holds fp32 values. Value: {@code code[nibble] * absmax[block]}.
 *
 * <p>INT8 (LLM.int8 baseline): one signed byte per element, {@code rowScale[r]} = row absmax (transformers' {@code SCB}),
 * value = {@code (q * rowScale[r]) * INT8_DEQUANT_SCALE}, as bitsandbytes' {@code int8_vectorwise_dequant} computes it.
 *
 * <p>Instances are immutable by contract: arrays are never written after construction (frozen base weights).
 */
public final class QuantizedMatrix {
    /** 1/127 as bitsandbytes' {@code int8_vectorwise_dequant} writes it ({@code 7.874015718698502e-3}), in fp32. */
    public static final float INT8_DEQUANT_SCALE = 7.874015718698502e-3f;

    private final QuantType type;
    private final int rows;
    private final int cols;
    private final int blocksize;
    private final byte[] packed;
    private final float[] code;
    // single-level absmax (no double quant), or null
    private final float[] absmax;
    // double quant state, or nulls
    private final byte[] absmaxCodes;
    private final float[] nestedAbsmax;
    private final float[] nestedCode;
    private final int nestedBlocksize;
    /** log2 of nestedBlocksize when it is a power of two (bitsandbytes uses 256), else -1 (divide). */
    private final int nestedShift;

    private final float nestedOffset;
    // int8
    private final float[] rowScale;

    private QuantizedMatrix(
            QuantType type,
            int rows,
            int cols,
            int blocksize,
            byte[] packed,
            float[] code,
            float[] absmax,
            byte[] absmaxCodes,
            float[] nestedAbsmax,
            float[] nestedCode,
            int nestedBlocksize,
            float nestedOffset,
            float[] rowScale) {
        this.type = Objects.requireNonNull(type);
        this.rows = rows;
        this.cols = cols;
        this.blocksize = blocksize;
        this.packed = Objects.requireNonNull(packed);
        this.code = code;
        this.absmax = absmax;
        this.absmaxCodes = absmaxCodes;
        this.nestedAbsmax = nestedAbsmax;
        this.nestedCode = nestedCode;
        this.nestedBlocksize = nestedBlocksize;
        this.nestedShift = nestedBlocksize > 0 && Integer.bitCount(nestedBlocksize) == 1
                ? Integer.numberOfTrailingZeros(nestedBlocksize)
                : -1;
        this.nestedOffset = nestedOffset;
        this.rowScale = rowScale;
    }

    /** A 4-bit matrix with fp32 absmax per block (no double quantization). */
    public static QuantizedMatrix fourBit(
            QuantType type, int rows, int cols, int blocksize, byte[] packed, float[] absmax) {
        check4(type, rows, cols, blocksize, packed);
        long blocks = blocks(rows, cols, blocksize);
        if (absmax.length != blocks) {
            throw new IllegalArgumentException("absmax has " + absmax.length + " values, expected " + blocks);
        }
        return new QuantizedMatrix(
                type, rows, cols, blocksize, packed, type.codebook(), absmax, null, null, null, 0, 0f, null);
    }

    /** A 4-bit matrix whose absmax is itself 8-bit quantized (double quantization). */
    public static QuantizedMatrix fourBitDoubleQuant(
            QuantType type,
            int rows,
            int cols,
            int blocksize,
            byte[] packed,
            byte[] absmaxCodes,
            float[] nestedAbsmax,
            float[] nestedCode,
            int nestedBlocksize,
            float nestedOffset) {
        check4(type, rows, cols, blocksize, packed);
        long blocks = blocks(rows, cols, blocksize);
        if (absmaxCodes.length != blocks) {
            throw new IllegalArgumentException("absmax codes: " + absmaxCodes.length + ", expected " + blocks);
        }
        long nested = (blocks + nestedBlocksize - 1) / nestedBlocksize;
        if (nestedAbsmax.length != nested) {
            throw new IllegalArgumentException("nested absmax: " + nestedAbsmax.length + ", expected " + nested);
        }
        if (nestedCode.length != 256) {
            throw new IllegalArgumentException("nested code map must have 256 entries, got " + nestedCode.length);
        }
        return new QuantizedMatrix(
                type,
                rows,
                cols,
                blocksize,
                packed,
                type.codebook(),
                null,
                absmaxCodes,
                nestedAbsmax,
                nestedCode,
                nestedBlocksize,
                nestedOffset,
                null);
    }

    /** LLM.int8-style per-row absmax int8. */
    public static QuantizedMatrix int8(int rows, int cols, byte[] q, float[] rowScale) {
        if ((long) rows * cols != q.length || rowScale.length != rows) {
            throw new IllegalArgumentException("int8 matrix " + rows + "x" + cols + ": got " + q.length + " values and "
                    + rowScale.length + " row scales");
        }
        return new QuantizedMatrix(QuantType.INT8, rows, cols, 0, q, null, null, null, null, null, 0, 0f, rowScale);
    }

    private static void check4(QuantType type, int rows, int cols, int blocksize, byte[] packed) {
        if (type != QuantType.NF4 && type != QuantType.FP4) {
            throw new IllegalArgumentException("4-bit layout needs nf4 or fp4, got " + type.id());
        }
        if (blocksize < 32 || blocksize > 4096 || Integer.bitCount(blocksize) != 1) {
            throw new IllegalArgumentException("blocksize must be a power of two in 32..4096, got " + blocksize);
        }
        long n = Math.multiplyExact((long) rows, (long) cols);
        if (packed.length != (n + 1) / 2) {
            throw new IllegalArgumentException("packed weight has " + packed.length + " bytes, expected " + (n + 1) / 2
                    + " for " + rows + "x" + cols);
        }
    }

    private static long blocks(int rows, int cols, int blocksize) {
        long n = (long) rows * cols;
        return (n + blocksize - 1) / blocksize;
    }

    public QuantType type() {
        return type;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public int blocksize() {
        return blocksize;
    }

    public boolean doubleQuant() {
        return absmaxCodes != null;
    }

    public int nestedBlocksize() {
        return nestedBlocksize;
    }

    public float nestedOffset() {
        return nestedOffset;
    }

    /** Number of absmax blocks (4-bit types). */
    public int blockCount() {
        return (int) blocks(rows, cols, blocksize);
    }

    // Raw views for kernels and serialization. Callers must not modify them.
    public byte[] packedData() {
        return packed;
    }

    public float[] codeData() {
        return code;
    }

    public float[] absmaxData() {
        return absmax;
    }

    public byte[] absmaxCodeData() {
        return absmaxCodes;
    }

    public float[] nestedAbsmaxData() {
        return nestedAbsmax;
    }

    public float[] nestedCodeData() {
        return nestedCode;
    }

    public float[] rowScaleData() {
        return rowScale;
    }

    /** The fp32 absmax of 4-bit block {@code b} (decoding the double quantization if present). */
    public float blockAbsmax(int b) {
        if (absmax != null) return absmax[b];
        // a shift, not a division: this runs once per 32 decoded values on the training hot path
        int nb = nestedShift >= 0 ? b >>> nestedShift : b / nestedBlocksize;
        return nestedCode[absmaxCodes[b] & 0xff] * nestedAbsmax[nb] + nestedOffset;
    }

    /** Scalar reference: the de-quantized value at (r, c). */
    public float get(int r, int c) {
        long i = (long) r * cols + c;
        if (type == QuantType.INT8) {
            return (packed[(int) i] * rowScale[r]) * INT8_DEQUANT_SCALE;
        }
        int byt = packed[(int) (i >>> 1)] & 0xff;
        int nib = (i & 1) == 0 ? (byt >>> 4) : (byt & 0x0f);
        return code[nib] * blockAbsmax((int) (i / blocksize));
    }

    /** Scalar reference: de-quantize row r into out[off, off + cols). */
    public void dequantizeRow(int r, float[] out, int off) {
        for (int c = 0; c < cols; c++) out[off + c] = get(r, c);
    }

    /** The whole matrix in fp32 (for merging, tests and PiSSA/LoftQ; never on the training hot path). */
    public float[] dequantize() {
        float[] out = new float[Math.multiplyExact(rows, cols)];
        for (int r = 0; r < rows; r++) dequantizeRow(r, out, r * cols);
        return out;
    }

    /** Bytes held in memory by this matrix (weights + all quantization state). */
    public long residentBytes() {
        long b = packed.length;
        if (absmax != null) b += 4L * absmax.length;
        if (absmaxCodes != null) b += absmaxCodes.length + 4L * nestedAbsmax.length + 4L * nestedCode.length + 4;
        if (code != null) b += 4L * code.length;
        if (rowScale != null) b += 4L * rowScale.length;
        return b;
    }

    /**
     * Bits of per-parameter storage: the codes plus the absmax (or double-quantized absmax) or row scales; the
     * fixed-size codebooks and the offset are not counted.
     */
    public long storageBits() {
        long bits = 8L * packed.length;
        if (absmax != null) bits += 32L * absmax.length;
        if (absmaxCodes != null) bits += 8L * absmaxCodes.length + 32L * nestedAbsmax.length;
        if (rowScale != null) bits += 32L * rowScale.length;
        return bits;
    }

    /** Storage bits per parameter, excluding the fixed-size codebooks ({@link #storageBits()} / rows / cols). */
    public double bitsPerParam() {
        return (double) storageBits() / ((long) rows * cols);
    }
}
