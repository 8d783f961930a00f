package io.lakelora.train;

import io.lakelora.lora.AdapterLayout;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The state an {@link Optimizer} keeps for one adapter: the slabs it declared, by name, in declared order, each a
 * {@code float[]} (F32) or a {@code byte[]} (U8), all zero at first. Also the lengths of the adapter's tensors in slab
 * order ({@code segments}), for optimizers that work per tensor as bitsandbytes does per parameter. Serializable, so
 * the Spark driver can broadcast it; the slabs are live, not copies.
 */
public final class OptimizerState implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String type;
    private final List<Optimizer.Slab> slabs;
    private final int[] segments;
    private final LinkedHashMap<String, Object> data = new LinkedHashMap<>();

    OptimizerState(String type, List<Optimizer.Slab> slabs, int[] segments) {
        this.type = type;
        this.slabs = List.copyOf(slabs);
        this.segments = segments.clone();
        for (Optimizer.Slab s : this.slabs) {
            Object array = switch (s.dtype()) {
                case F32 -> new float[s.length()];
                case U8 -> new byte[s.length()];
            };
            if (data.put(s.name(), array) != null) {
                throw new IllegalArgumentException("optimizer " + type + " declares slab '" + s.name() + "' twice");
            }
        }
    }

    /** The lengths of {@code layout}'s tensors, in slab order. */
    static int[] segments(AdapterLayout layout) {
        return layout.tensors().stream().mapToInt(AdapterLayout.Tensor::size).toArray();
    }

    /** The {@code optimizer.type} that declared these slabs. */
    public String type() {
        return type;
    }

    /** The declared slabs, in order. */
    public List<Optimizer.Slab> slabs() {
        return slabs;
    }

    /** The adapter's tensor lengths in slab order (a copy). */
    public int[] segments() {
        return segments.clone();
    }

    /** Bytes held by the slabs. */
    public long bytes() {
        long sum = 0;
        for (Optimizer.Slab s : slabs) sum += s.bytes();
        return sum;
    }

    /** The F32 slab {@code name} (live). */
    public float[] floats(String name) {
        return slab(name, Optimizer.DType.F32, float[].class);
    }

    /** The U8 slab {@code name} (live). */
    public byte[] bytes(String name) {
        return slab(name, Optimizer.DType.U8, byte[].class);
    }

    /** The slab {@code name} as its array ({@code float[]} or {@code byte[]}, live). */
    public Object array(String name) {
        Object a = data.get(name);
        if (a == null) throw new IllegalArgumentException("optimizer " + type + " has no state slab '" + name + "'");
        return a;
    }

    private <T> T slab(String name, Optimizer.DType want, Class<T> cls) {
        Object a = array(name);
        if (!cls.isInstance(a)) {
            throw new IllegalArgumentException(
                    "optimizer " + type + " state slab '" + name + "' is not " + want + " (" + describe() + ")");
        }
        return cls.cast(a);
    }

    /** Copies every slab of {@code from} (same type and slabs) into this state. */
    public void copyFrom(OptimizerState from) {
        if (!type.equals(from.type) || !slabs.equals(from.slabs)) {
            throw new IllegalArgumentException(
                    "optimizer state " + from.describe() + " does not fit " + describe() + " (other type or adapter)");
        }
        for (Map.Entry<String, Object> e : data.entrySet()) {
            Object src = from.data.get(e.getKey());
            System.arraycopy(src, 0, e.getValue(), 0, java.lang.reflect.Array.getLength(src));
        }
    }

    /** True when both states have the same type, slabs and contents, bit for bit. */
    public boolean sameAs(OptimizerState o) {
        if (!type.equals(o.type) || !slabs.equals(o.slabs)) return false;
        for (Map.Entry<String, Object> e : data.entrySet()) {
            Object b = o.data.get(e.getKey());
            boolean eq = e.getValue() instanceof float[] f
                    ? Arrays.equals(f, (float[]) b) // Arrays.equals(float[]) compares floatToIntBits
                    : Arrays.equals((byte[]) e.getValue(), (byte[]) b);
            if (!eq) return false;
        }
        return true;
    }

    /** "adamw: m F32[n], v F32[n]". */
    public String describe() {
        List<String> parts = new ArrayList<>();
        for (Optimizer.Slab s : slabs) parts.add(s.name() + " " + s.dtype() + "[" + s.length() + "]");
        return type + ": " + String.join(", ", parts);
    }
}
