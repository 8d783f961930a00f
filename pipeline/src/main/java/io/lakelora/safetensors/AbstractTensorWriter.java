package io.lakelora.safetensors;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The tensors and metadata a safetensors writer will write, in order. Arrays passed to the {@code add} methods are
 * referenced, not copied (do not change them before {@code write()}); a {@link TensorSource} produces its data only
 * when written.
 *
 * @param <W> the concrete writer, returned by every method for chaining
 */
public abstract class AbstractTensorWriter<W extends AbstractTensorWriter<W>> {
    /** One declared tensor. */
    record Pending(String name, DType dtype, long[] shape, long bytes, TensorSource source) {}

    final List<Pending> pending = new ArrayList<>();
    final Map<String, String> metadata = new LinkedHashMap<>();
    private final Set<String> names = new HashSet<>();

    @SuppressWarnings("unchecked")
    private W self() {
        return (W) this;
    }

    /** Adds a {@code __metadata__} entry (e.g. "format" -> "pt", which transformers/PEFT expect). */
    public W metadata(String key, String value) {
        metadata.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return self();
    }

    /** Adds all entries to {@code __metadata__}. */
    public W metadata(Map<String, String> entries) {
        entries.forEach(this::metadata);
        return self();
    }

    /** A float tensor stored as {@code dtype} F32, F16 or BF16 (converted with round to nearest even). */
    public W add(String name, DType dtype, long[] shape, float[] data) {
        Pending p = declare(name, dtype, shape);
        checkLength(p, data.length);
        return put(p, s -> s.writeFloats(data, 0, data.length));
    }

    /** An F16 or BF16 tensor given as its 16-bit patterns. */
    public W add(String name, DType dtype, long[] shape, short[] bits) {
        Pending p = declare(name, dtype, shape);
        checkLength(p, bits.length);
        return put(p, s -> s.writeShorts(bits, 0, bits.length));
    }

    /** A tensor of any dtype given as its raw little-endian bytes. */
    public W add(String name, DType dtype, long[] shape, byte[] raw) {
        Pending p = declare(name, dtype, shape);
        if (raw.length != p.bytes) {
            throw new IllegalArgumentException("tensor '" + name + "': " + raw.length + " bytes given but shape "
                    + Arrays.toString(shape) + " x " + dtype + " needs " + p.bytes);
        }
        return put(p, s -> s.writeBytes(raw, 0, raw.length));
    }

    /** An I32 tensor. */
    public W add(String name, long[] shape, int[] data) {
        Pending p = declare(name, DType.I32, shape);
        checkLength(p, data.length);
        return put(p, s -> s.writeInts(data, 0, data.length));
    }

    /** An I64 tensor. */
    public W add(String name, long[] shape, long[] data) {
        Pending p = declare(name, DType.I64, shape);
        checkLength(p, data.length);
        return put(p, s -> s.writeLongs(data, 0, data.length));
    }

    /** A tensor whose data {@code source} streams when the file is written. */
    public W add(String name, DType dtype, long[] shape, TensorSource source) {
        return put(declare(name, dtype, shape), Objects.requireNonNull(source, "source"));
    }

    /** The tensors declared so far, in write order. */
    public List<String> names() {
        List<String> l = new ArrayList<>();
        for (Pending p : pending) l.add(p.name);
        return Collections.unmodifiableList(l);
    }

    private Pending declare(String name, DType dtype, long[] shape) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        if (name.isEmpty() || name.equals(SafetensorsHeader.METADATA_KEY)) {
            throw new IllegalArgumentException("invalid tensor name '" + name + "'");
        }
        if (names.contains(name)) throw new IllegalArgumentException("tensor '" + name + "' added twice");
        long bytes;
        try {
            bytes = Math.multiplyExact(TensorInfo.numel(shape), dtype.size());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(
                    "tensor '" + name + "': shape " + Arrays.toString(shape) + " overflows", e);
        }
        return new Pending(name, dtype, shape.clone(), bytes, null);
    }

    private static void checkLength(Pending p, int length) {
        if (length != p.bytes / p.dtype.size()) {
            throw new IllegalArgumentException("tensor '" + p.name + "': " + length + " values given but shape "
                    + Arrays.toString(p.shape) + " has " + p.bytes / p.dtype.size() + " elements");
        }
    }

    private W put(Pending p, TensorSource src) {
        names.add(p.name);
        pending.add(new Pending(p.name, p.dtype, p.shape, p.bytes, src));
        return self();
    }
}
