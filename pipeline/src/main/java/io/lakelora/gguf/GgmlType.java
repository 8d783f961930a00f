package io.lakelora.gguf;

import io.lakelora.safetensors.Halfs;
import java.nio.ByteBuffer;

/**
 * The ggml tensor types this project writes and reads, as data: ggml's type id, the values per block and the bytes per
 * block ({@code ggml_type_traits}: {@code blck_size}, {@code type_size}). A row of {@code ne0} values takes
 * {@code ne0 / blockSize * typeSize} bytes, so {@code ne0} must be a multiple of the block size.
 *
 * <p>Q8_0 is ggml's {@code block_q8_0}, bit for bit as {@code quantize_row_q8_0_ref} (ggml-quants.c) writes it: per 32
 * values, {@code amax = max |x|}, {@code d = amax / 127} (fp32), {@code id = d != 0 ? 1 / d : 0}, then the scale
 * {@code d} as IEEE half (round to nearest even) followed by 32 int8 {@code roundf(x * id)} (halves away from zero).
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q8_0(8, 32, 34),
    BF16(30, 1, 2);

    /** Values per Q8_0 block ({@code QK8_0}). */
    public static final int QK8_0 = 32;

    private final int id;
    private final int blockSize;
    private final int typeSize;

    GgmlType(int id, int blockSize, int typeSize) {
        this.id = id;
        this.blockSize = blockSize;
        this.typeSize = typeSize;
    }

    /** ggml's {@code enum ggml_type} value. */
    public int id() {
        return id;
    }

    /** Values per block. */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int typeSize() {
        return typeSize;
    }

    /** The type with ggml id {@code id}, or null when this project does not handle it. */
    public static GgmlType ofId(int id) {
        for (GgmlType t : values()) if (t.id == id) return t;
        return null;
    }

    /** The lower-case name users write ({@code f32}, {@code f16}, {@code q8_0}, {@code bf16}). */
    public String cliName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Parses {@code f32}, {@code f16}, {@code bf16} or {@code q8_0} (any case). */
    public static GgmlType parse(String s) {
        for (GgmlType t : values()) if (t.cliName().equalsIgnoreCase(s.trim())) return t;
        throw new IllegalArgumentException("unknown GGUF tensor type '" + s + "'. Fix: use f32, f16, bf16 or q8_0");
    }

    /** Whether a row of {@code ne0} values can be stored in this type ({@code ne0} a multiple of the block size). */
    public boolean fitsRow(long ne0) {
        return ne0 > 0 && ne0 % blockSize == 0;
    }

    /** Bytes of a tensor with dimensions {@code ne} (ggml order: {@code ne[0]} varies fastest). */
    public long bytes(long[] ne) {
        if (!fitsRow(ne[0])) {
            throw new IllegalArgumentException(
                    "a " + this + " row holds a multiple of " + blockSize + " values, not " + ne[0]);
        }
        long n = Math.multiplyExact(ne[0] / blockSize, (long) typeSize);
        for (int i = 1; i < ne.length; i++) n = Math.multiplyExact(n, ne[i]);
        return n;
    }

    /** Encodes {@code n} values of {@code src} from {@code off} ({@code n} a multiple of the block size) into {@code dst}. */
    public void encode(float[] src, int off, int n, ByteBuffer dst) {
        switch (this) {
            case F32 -> {
                for (int i = 0; i < n; i++) dst.putFloat(src[off + i]);
            }
            case F16 -> {
                for (int i = 0; i < n; i++) dst.putShort(Halfs.floatToF16(src[off + i]));
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) dst.putShort(Halfs.floatToBf16(src[off + i]));
            }
            case Q8_0 -> {
                for (int b = 0; b < n; b += QK8_0) quantizeQ8_0Block(src, off + b, dst);
            }
        }
    }

    /** Decodes {@code n} values (a multiple of the block size) from {@code src} into {@code dst} at {@code off}. */
    public void decode(ByteBuffer src, float[] dst, int off, int n) {
        switch (this) {
            case F32 -> {
                for (int i = 0; i < n; i++) dst[off + i] = src.getFloat();
            }
            case F16 -> {
                for (int i = 0; i < n; i++) dst[off + i] = Halfs.f16ToFloat(src.getShort());
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) dst[off + i] = Halfs.bf16ToFloat(src.getShort());
            }
            case Q8_0 -> {
                for (int b = 0; b < n; b += QK8_0) {
                    float d = Halfs.f16ToFloat(src.getShort());
                    for (int j = 0; j < QK8_0; j++) dst[off + b + j] = src.get() * d;
                }
            }
        }
    }

    /** One {@code block_q8_0} from {@code x[off .. off + 32)}: see the class comment. */
    static void quantizeQ8_0Block(float[] x, int off, ByteBuffer dst) {
        float amax = 0f;
        for (int j = 0; j < QK8_0; j++) amax = Math.max(amax, Math.abs(x[off + j]));
        float d = amax / 127f;
        float id = d != 0f ? 1f / d : 0f;
        dst.putShort(Halfs.floatToF16(d));
        for (int j = 0; j < QK8_0; j++) dst.put((byte) roundf(x[off + j] * id));
    }

    /** C's {@code roundf}: to the nearest integer, halfway cases away from zero ({@code |v| <= 127} here). */
    static int roundf(float v) {
        double r = Math.floor(Math.abs((double) v) + 0.5);
        return (int) (v < 0 ? -r : r);
    }
}
