package io.lakelora.quant;

/**
 * Weight storage formats, as data (codebook, bits, name used by transformers' bitsandbytes layout).
 * Codebooks are bitsandbytes' exactly (see DESIGN.md), indexed by the 4-bit code.
 */
public enum QuantType {
    /** fp32, not quantized: the comparison mode. */
    NONE("none", 32, null),
    NF4("nf4", 4, new float[] {
        -1.0f,
        -0.6961928009986877f,
        -0.5250730514526367f,
        -0.39491748809814453f,
        -0.28444138169288635f,
        -0.18477343022823334f,
        -0.09105003625154495f,
        0.0f,
        0.07958029955625534f,
        0.16093020141124725f,
        0.24611230194568634f,
        0.33791524171829224f,
        0.44070982933044434f,
        0.5626170039176941f,
        0.7229568362236023f,
        1.0f
    }),
    /** FP4 E2M1 with bias 2, as bitsandbytes orders it (bit pattern = index), normalized by 12. */
    FP4("fp4", 4, new float[] {
        0f,
        0.0625f / 12f,
        8f / 12f,
        12f / 12f,
        4f / 12f,
        6f / 12f,
        2f / 12f,
        3f / 12f,
        -0f,
        -0.0625f / 12f,
        -8f / 12f,
        -12f / 12f,
        -4f / 12f,
        -6f / 12f,
        -2f / 12f,
        -3f / 12f
    }),
    /** LLM.int8-style per-row absmax int8 (baseline). */
    INT8("int8", 8, null);

    private final String id;
    private final int bits;
    private final float[] code;

    QuantType(String id, int bits, float[] code) {
        this.id = id;
        this.bits = bits;
        this.code = code;
    }

    public String id() {
        return id;
    }

    public int bits() {
        return bits;
    }

    /** 16-entry codebook for 4-bit types (a copy), null otherwise. */
    public float[] codebook() {
        return code == null ? null : code.clone();
    }

    public static QuantType parse(String s) {
        for (QuantType t : values()) {
            if (t.id.equalsIgnoreCase(s)) return t;
        }
        throw new IllegalArgumentException("unknown quantization '" + s + "': expected one of none, nf4, fp4, int8");
    }
}
