package io.lakelora.gguf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Writes one GGUF file (version 3, little-endian), the format llama.cpp, Ollama and ggml read: the magic
 * {@code GGUF}, the version, the tensor and key-value counts (u64), the metadata in the order added (key as u64 length
 * + UTF-8 bytes, u32 value type, value; arrays as u32 element type, u64 count, elements), then one info per tensor
 * (name, u32 dimension count, u64 dimensions in ggml order with {@code ne[0]} the fastest-varying, u32 ggml type, u64
 * offset into the data section), padding to the 32-byte alignment, and the tensor data, each tensor starting on a
 * multiple of 32 bytes. A Hugging Face weight {@code [out, in]} is the ggml tensor {@code ne = [in, out]} with the same
 * bytes.
 *
 * <p>Tensor data are supplied as fp32 values in row-major order and encoded on writing ({@link GgmlType#encode}), one
 * tensor at a time. The file is written to a temporary sibling, forced to disk and moved over the target.
 */
public final class GgufWriter {
    /** GGUF's default data alignment ({@code GGUF_DEFAULT_ALIGNMENT}). */
    public static final int ALIGNMENT = 32;
    /** {@code GGML_MAX_NAME} (64) includes the terminating NUL. */
    public static final int MAX_NAME_BYTES = 63;
    /** The file's first four bytes, "GGUF". */
    public static final int MAGIC = 0x46554747;

    public static final int VERSION = 3;

    private record Kv(String key, GgufValueType type, GgufValueType elemType, Object value) {}

    private record Tensor(String name, GgmlType type, long[] ne, Supplier<float[]> data) {}

    private final Path target;
    private final Map<String, Kv> kvs = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();
    private final Set<String> names = new HashSet<>();

    public GgufWriter(Path target) {
        this.target = target.toAbsolutePath().normalize();
    }

    private GgufWriter put(String key, GgufValueType type, GgufValueType elemType, Object value) {
        if (key == null || key.isEmpty()) throw new IllegalArgumentException("empty GGUF key");
        if (kvs.putIfAbsent(key, new Kv(key, type, elemType, value)) != null) {
            throw new IllegalArgumentException("GGUF key '" + key + "' added twice");
        }
        return this;
    }

    public GgufWriter putString(String key, String v) {
        return put(key, GgufValueType.STRING, null, v);
    }

    public GgufWriter putU32(String key, long v) {
        if (v < 0 || v > 0xFFFF_FFFFL) throw new IllegalArgumentException(key + ": " + v + " is not a u32");
        return put(key, GgufValueType.UINT32, null, v);
    }

    public GgufWriter putI32(String key, int v) {
        return put(key, GgufValueType.INT32, null, v);
    }

    public GgufWriter putF32(String key, float v) {
        return put(key, GgufValueType.FLOAT32, null, v);
    }

    public GgufWriter putBool(String key, boolean v) {
        return put(key, GgufValueType.BOOL, null, v);
    }

    public GgufWriter putStrings(String key, List<String> v) {
        return put(key, GgufValueType.ARRAY, GgufValueType.STRING, List.copyOf(v));
    }

    public GgufWriter putF32s(String key, float[] v) {
        return put(key, GgufValueType.ARRAY, GgufValueType.FLOAT32, v.clone());
    }

    public GgufWriter putI32s(String key, int[] v) {
        return put(key, GgufValueType.ARRAY, GgufValueType.INT32, v.clone());
    }

    /**
     * Adds a tensor of dimensions {@code ne} (ggml order, 1 to 4 of them) stored as {@code type}; {@code data} gives
     * its fp32 values in row-major order (ne[0] fastest) when the file is written.
     */
    public GgufWriter addTensor(String name, GgmlType type, long[] ne, Supplier<float[]> data) {
        if (name.getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
            throw new IllegalArgumentException(
                    "GGUF tensor name '" + name + "' is longer than ggml's " + MAX_NAME_BYTES + " bytes");
        }
        if (ne.length < 1 || ne.length > 4) {
            throw new IllegalArgumentException(
                    "GGUF tensor " + name + " has " + ne.length + " dimensions, ggml takes 1..4");
        }
        for (long d : ne) if (d <= 0) throw new IllegalArgumentException("GGUF tensor " + name + ": dimension " + d);
        type.bytes(ne); // checks that ne[0] fits the block size
        if (!names.add(name)) throw new IllegalArgumentException("GGUF tensor '" + name + "' added twice");
        tensors.add(new Tensor(name, type, ne.clone(), data));
        return this;
    }

    /** Writes the file; returns its size in bytes. */
    public long write() {
        byte[] head = header();
        long dataStart = align(head.length);
        Path tmp = target.resolveSibling(
                "." + target.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        try {
            Files.createDirectories(target.getParent());
            try (FileChannel ch = FileChannel.open(
                    tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                writeFully(ch, ByteBuffer.wrap(head));
                pad(ch, dataStart - head.length);
                long pos = dataStart;
                for (Tensor t : tensors) {
                    long bytes = writeTensor(ch, t);
                    long end = align(pos + bytes);
                    pad(ch, end - pos - bytes);
                    pos = end;
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            return Files.size(target);
        } catch (IOException e) {
            throw new UncheckedIOException("writing GGUF " + target, e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the temporary file is gone or unreachable; the error above (if any) says why
            }
        }
    }

    private static long writeTensor(FileChannel ch, Tensor t) throws IOException {
        float[] v = t.data().get();
        long n = 1;
        for (long d : t.ne()) n = Math.multiplyExact(n, d);
        if (v.length != n) {
            throw new IllegalStateException(
                    "GGUF tensor " + t.name() + ": " + v.length + " values supplied, its dimensions hold " + n);
        }
        int rowValues = (int) t.ne()[0];
        long totalRows = n / rowValues;
        long rowBytes = t.type().bytes(new long[] {rowValues});
        int rowsPerChunk = (int) Math.min(totalRows, Math.max(1, (8L << 20) / rowBytes));
        ByteBuffer buf =
                ByteBuffer.allocate(Math.toIntExact(rowBytes * rowsPerChunk)).order(ByteOrder.LITTLE_ENDIAN);
        long written = 0;
        for (long row = 0; row < totalRows; row += rowsPerChunk) {
            buf.clear();
            long rows = Math.min(rowsPerChunk, totalRows - row);
            for (long r = 0; r < rows; r++) t.type().encode(v, (int) ((row + r) * rowValues), rowValues, buf);
            buf.flip();
            written += buf.remaining();
            writeFully(ch, buf);
        }
        return written;
    }

    /** The bytes before the data section: magic, version, counts, metadata and tensor infos. */
    byte[] header() {
        Out o = new Out();
        o.u32(MAGIC);
        o.u32(VERSION);
        o.u64(tensors.size());
        o.u64(kvs.size());
        for (Kv kv : kvs.values()) {
            o.str(kv.key());
            o.u32(kv.type().id());
            if (kv.type() == GgufValueType.ARRAY) {
                o.u32(kv.elemType().id());
                switch (kv.elemType()) {
                    case STRING -> {
                        List<?> l = (List<?>) kv.value();
                        o.u64(l.size());
                        for (Object s : l) o.str((String) s);
                    }
                    case FLOAT32 -> {
                        float[] a = (float[]) kv.value();
                        o.u64(a.length);
                        for (float f : a) o.u32(Float.floatToRawIntBits(f));
                    }
                    case INT32 -> {
                        int[] a = (int[]) kv.value();
                        o.u64(a.length);
                        for (int i : a) o.u32(i);
                    }
                    default -> throw new IllegalStateException("array of " + kv.elemType());
                }
            } else {
                switch (kv.type()) {
                    case STRING -> o.str((String) kv.value());
                    case UINT32 -> o.u32((int) (long) (Long) kv.value());
                    case INT32 -> o.u32((Integer) kv.value());
                    case FLOAT32 -> o.u32(Float.floatToRawIntBits((Float) kv.value()));
                    case BOOL -> o.u8((Boolean) kv.value() ? 1 : 0);
                    default -> throw new IllegalStateException("value of " + kv.type());
                }
            }
        }
        long off = 0;
        for (Tensor t : tensors) {
            o.str(t.name());
            o.u32(t.ne().length);
            for (long d : t.ne()) o.u64(d);
            o.u32(t.type().id());
            o.u64(off);
            off = align(off + t.type().bytes(t.ne()));
        }
        return o.bytes();
    }

    static long align(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private static void pad(FileChannel ch, long n) throws IOException {
        if (n > 0) writeFully(ch, ByteBuffer.allocate((int) n));
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /** A growable little-endian byte buffer. */
    private static final class Out {
        private ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void room(int n) {
            if (b.remaining() >= n) return;
            long cap = Math.max((long) b.capacity() * 2, (long) b.position() + n);
            if (cap > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("GGUF metadata over 2 GB");
            ByteBuffer nb = ByteBuffer.allocate((int) cap).order(ByteOrder.LITTLE_ENDIAN);
            b.flip();
            nb.put(b);
            b = nb;
        }

        void u8(int v) {
            room(1);
            b.put((byte) v);
        }

        void u32(int v) {
            room(4);
            b.putInt(v);
        }

        void u64(long v) {
            room(8);
            b.putLong(v);
        }

        void str(String s) {
            byte[] u = s.getBytes(StandardCharsets.UTF_8);
            u64(u.length);
            room(u.length);
            b.put(u);
        }

        byte[] bytes() {
            byte[] out = new byte[b.position()];
            b.flip();
            b.get(out);
            return out;
        }
    }
}
