package io.lakelora.model;

/**
 * RoPE frequency scaling as transformers applies it to {@code inv_freq}: none ({@code rope_type} "default"),
 * "linear" (all frequencies / factor) or "llama3" (Llama 3.1: low frequencies / factor, high ones kept, a smooth
 * blend between, with wavelength bounds {@code original_max_position_embeddings / {low,high}_freq_factor}).
 * Unused fields are NaN / 0.
 */
public record RopeScaling(
        Type type, double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositionEmbeddings) {
    /** The supported {@code rope_type} values. */
    public enum Type {
        NONE("default"),
        LINEAR("linear"),
        LLAMA3("llama3");

        private final String hfName;

        Type(String hfName) {
            this.hfName = hfName;
        }

        /** The {@code rope_type} string. */
        public String hfName() {
            return hfName;
        }
    }

    public static final RopeScaling NONE = new RopeScaling(Type.NONE, Double.NaN, Double.NaN, Double.NaN, 0);

    public RopeScaling {
        java.util.Objects.requireNonNull(type, "type");
        if (type != Type.NONE && !(factor > 0))
            throw new IllegalArgumentException("rope scaling factor must be > 0: " + factor);
        if (type == Type.LLAMA3) {
            if (!(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor) || originalMaxPositionEmbeddings <= 0) {
                throw new IllegalArgumentException("llama3 rope scaling needs low_freq_factor > 0, high_freq_factor > "
                        + "low_freq_factor and original_max_position_embeddings > 0; got " + lowFreqFactor + ", "
                        + highFreqFactor + ", " + originalMaxPositionEmbeddings);
            }
        }
    }

    /** Linear scaling by {@code factor}. */
    public static RopeScaling linear(double factor) {
        return new RopeScaling(Type.LINEAR, factor, Double.NaN, Double.NaN, 0);
    }

    /** Llama 3.1 scaling (Meta's values: factor 8, low 1, high 4, original 8192). */
    public static RopeScaling llama3(
            double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositionEmbeddings) {
        return new RopeScaling(Type.LLAMA3, factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings);
    }
}
