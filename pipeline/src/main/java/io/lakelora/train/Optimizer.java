package io.lakelora.train;

import io.lakelora.lora.AdapterLayout;
import java.io.Serializable;
import java.util.List;

/**
 * An update rule over the adapter's flat parameter slab, and the state it keeps between steps. The optimizer DECLARES
 * its state as named slabs ({@link #slabs}); everything else handles them by those names and sizes, never by knowing
 * the optimizer: {@link OptimizerState} allocates them, {@link Checkpoint} writes and reads them in declared order, the
 * Spark driver keeps them, and local SGD averages them through their fp32 view ({@link #moments} /
 * {@link #setMoments}). A new optimizer is one class here and a {@code type} in {@link OptimizerConfig}.
 *
 * <p>Implementations are immutable and serializable (Spark ships them to the workers in local-SGD mode).
 */
public interface Optimizer extends Serializable {

    /** Element type of a state slab. */
    enum DType {
        F32(4),
        U8(1);

        private final int bytes;

        DType(int bytes) {
            this.bytes = bytes;
        }

        public int bytes() {
            return bytes;
        }
    }

    /** One named state slab: {@code length} elements of {@code dtype}. */
    record Slab(String name, DType dtype, int length) implements Serializable {
        public Slab {
            if (length < 0) throw new IllegalArgumentException("slab " + name + " length must be >= 0, got " + length);
        }

        public long bytes() {
            return (long) length * dtype.bytes();
        }
    }

    /** The {@code optimizer.type} this rule is configured by ({@code adamw}, {@code adamw8bit}). */
    String type();

    /** The state slabs for an adapter of {@code layout}, in the order checkpoints store them. */
    List<Slab> slabs(AdapterLayout layout);

    /**
     * One update of every element of {@code p} from gradient {@code g} (same length), updating {@code state} in
     * place. {@code step} is the 1-based number of this update, {@code lr} the scheduled rate.
     */
    void update(float[] p, float[] g, OptimizerState state, long step, double lr);

    /**
     * The state as fp32 slabs that may be averaged element by element (local SGD averages workers' states this way):
     * AdamW's m and v themselves, the 8-bit optimizer's dequantized m and v. Fresh arrays.
     */
    float[][] moments(OptimizerState state);

    /** Sets {@code state} from fp32 slabs shaped as {@link #moments} returns them (requantizing where needed). */
    void setMoments(OptimizerState state, float[][] moments);

    /** A zero state for an adapter of {@code layout} (what a first step starts from). */
    default OptimizerState newState(AdapterLayout layout) {
        return new OptimizerState(type(), slabs(layout), OptimizerState.segments(layout));
    }

    /** Bytes of optimizer state for an adapter of {@code layout}, from the declared slabs. */
    default long stateBytes(AdapterLayout layout) {
        long sum = 0;
        for (Slab s : slabs(layout)) sum = Math.addExact(sum, s.bytes());
        return sum;
    }
}
