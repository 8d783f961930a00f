package io.lakelora.gguf;

import io.lakelora.error.BadInputException;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a GGUF file (versions 2 and 3, little-endian; the layout is described at {@link GgufWriter}): its metadata
 * and tensor infos on {@link #open}, tensor data on demand as fp32 ({@link #readFloats}, for the types of
 * {@link GgmlType}). Every length and count is checked against the file's size before anything is allocated, so a
 * corrupt or hostile file fails with a {@link BadInputException} naming the file and the field.
 *
 * <p>Metadata values are Java values: integers of every width as {@link Long}, FLOAT32 as {@link Float}, FLOAT64 as
 * {@link Double}, BOOL as {@link Boolean}, STRING as {@link String}, ARRAY as an unmodifiable {@link List} of those.
 */
public final class GgufFile implements AutoCloseable {
    /** One tensor: its name, dimensions (ggml order), ggml type id ({@code type} null when not one of ours) and offset. */
    public record TensorInfo(String name, long[] ne, int typeId, GgmlType type, long offset) {
        /** Number of values. */
        public long count() {
            long n = 1;
            for (long d : ne) n = Math.multiplyExact(n, d);
            return n;
        }
    }

    private final Path path;
    private final FileChannel ch;
    private final int version;
    private final Map<String, Object> metadata;
    private final Map<String, GgufValueType> types;
    private final Map<String, TensorInfo> tensors;

    private GgufFile(
            Path path,
            FileChannel ch,
            int version,
            Map<String, Object> metadata,
            Map<String, GgufValueType> types,
            Map<String, TensorInfo> tensors) {
        this.path = path;
        this.ch = ch;
        this.version = version;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.types = Collections.unmodifiableMap(types);
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /** Opens {@code file} and reads its metadata and tensor infos. */
    public static GgufFile open(Path file) {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new UncheckedIOException("opening GGUF " + file, e);
        }
        try {
            return read(file, ch);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        } catch (EOFException e) {
            closeQuietly(ch);
            throw new BadInputException("GGUF " + file + " ends inside its header (" + e.getMessage() + "). Fix: "
                    + "the file is truncated; write or download it again");
        } catch (IOException e) {
            closeQuietly(ch);
            throw new UncheckedIOException("reading GGUF " + file, e);
        }
    }

    private static GgufFile read(Path file, FileChannel ch) throws IOException {
        In in = new In(file, ch);
        int magic = in.i32();
        if (magic != GgufWriter.MAGIC) {
            throw in.bad("starts with 0x" + Integer.toHexString(magic) + ", not the GGUF magic \"GGUF\"; it is not "
                    + "a GGUF file");
        }
        int version = in.i32();
        if (version != 2 && version != 3) throw in.bad("has GGUF version " + version + "; versions 2 and 3 are read");
        long nTensors = in.count("tensor count", 8 + 4 + 8 + 4 + 8);
        long nKv = in.count("metadata count", 8 + 4 + 1);
        Map<String, Object> meta = new LinkedHashMap<>();
        Map<String, GgufValueType> types = new LinkedHashMap<>();
        for (long i = 0; i < nKv; i++) {
            String key = in.str("metadata key " + i);
            GgufValueType t = in.type("metadata '" + key + "'");
            if (meta.containsKey(key)) throw in.bad("has the metadata key '" + key + "' twice");
            meta.put(key, in.value(t, key));
            types.put(key, t);
        }
        long alignment = GgufWriter.ALIGNMENT;
        if (meta.get("general.alignment") instanceof Long a) {
            if (a <= 0 || (a & (a - 1)) != 0) throw in.bad("general.alignment " + a + " is not a power of two");
            alignment = a;
        }
        List<Object[]> raw = new ArrayList<>();
        for (long i = 0; i < nTensors; i++) {
            String name = in.str("tensor name " + i);
            int nd = in.i32();
            if (nd < 1 || nd > 4) throw in.bad("tensor " + name + " has " + nd + " dimensions (1..4 expected)");
            long[] ne = new long[nd];
            for (int d = 0; d < nd; d++) {
                ne[d] = in.i64();
                if (ne[d] <= 0) throw in.bad("tensor " + name + " has dimension " + ne[d]);
            }
            int typeId = in.i32();
            long off = in.i64();
            raw.add(new Object[] {name, ne, typeId, off});
        }
        long dataStart = (in.position() + alignment - 1) / alignment * alignment;
        long size = ch.size();
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (Object[] r : raw) {
            String name = (String) r[0];
            long[] ne = (long[]) r[1];
            int typeId = (int) r[2];
            long off = (long) r[3];
            GgmlType type = GgmlType.ofId(typeId);
            if (off % alignment != 0 || off < 0) throw in.bad("tensor " + name + " has offset " + off);
            if (type != null) {
                long bytes;
                try {
                    bytes = type.bytes(ne);
                } catch (IllegalArgumentException | ArithmeticException e) {
                    throw in.bad("tensor " + name + ": " + e.getMessage());
                }
                if (dataStart + off + bytes > size) {
                    throw in.bad("tensor " + name + " (" + bytes + " bytes at " + (dataStart + off) + ") ends past "
                            + "the end of the file (" + size + " bytes); the file is truncated");
                }
            }
            if (tensors.put(name, new TensorInfo(name, ne, typeId, type, dataStart + off)) != null) {
                throw in.bad("has the tensor '" + name + "' twice");
            }
        }
        return new GgufFile(file, ch, version, meta, types, tensors);
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    /** Metadata in file order. */
    public Map<String, Object> metadata() {
        return metadata;
    }

    /** The stored type of each metadata key (ARRAY for arrays). */
    public Map<String, GgufValueType> types() {
        return types;
    }

    /** Tensor infos in file order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** A tensor's values as fp32 (ne[0] fastest), decoded from F32, F16, BF16 or Q8_0. */
    public float[] readFloats(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) throw new IllegalArgumentException("GGUF " + path + " has no tensor '" + name + "'");
        if (t.type() == null) {
            throw new UnsupportedOperationException("GGUF " + path + ": tensor " + name + " has ggml type " + t.typeId()
                    + "; only " + java.util.Arrays.toString(GgmlType.values()) + " are decoded here");
        }
        long n = t.count();
        if (n > Integer.MAX_VALUE - 8) throw new UnsupportedOperationException("tensor " + name + " over 2^31 values");
        long bytes = t.type().bytes(t.ne());
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(bytes)).order(ByteOrder.LITTLE_ENDIAN);
        try {
            long pos = t.offset();
            while (b.hasRemaining()) {
                int r = ch.read(b, pos);
                if (r < 0) throw new EOFException("tensor " + name);
                pos += r;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading tensor " + name + " of " + path, e);
        }
        b.flip();
        float[] out = new float[(int) n];
        t.type().decode(b, out, 0, (int) n);
        return out;
    }

    @Override
    public void close() {
        try {
            ch.close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing " + path, e);
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // the open failed already; that error is what the caller sees
        }
    }

    /** Sequential little-endian reads over the channel, with every size checked against what is left. */
    private static final class In {
        private final Path file;
        private final FileChannel ch;
        private final long size;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        private long bufStart;

        In(Path file, FileChannel ch) throws IOException {
            this.file = file;
            this.ch = ch;
            this.size = ch.size();
            buf.limit(0);
        }

        long position() {
            return bufStart + buf.position();
        }

        private void need(int n) throws IOException {
            if (buf.remaining() >= n) return;
            long pos = position();
            if (pos + n > size) throw new EOFException("at byte " + pos + ", " + n + " more bytes needed");
            buf.compact(); // the unread bytes move to index 0, which is now byte `pos` of the file
            bufStart = pos;
            while (buf.position() < n) {
                int r = ch.read(buf, bufStart + buf.position());
                if (r < 0) throw new EOFException("at byte " + pos);
            }
            buf.flip();
        }

        int i32() throws IOException {
            need(4);
            return buf.getInt();
        }

        long i64() throws IOException {
            need(8);
            return buf.getLong();
        }

        /** A u64 count whose items take at least {@code minBytes} each, checked against the bytes left. */
        long count(String what, long minBytes) throws IOException {
            long n = i64();
            if (n < 0 || n > (size - position()) / minBytes) {
                throw bad("has " + what + " " + Long.toUnsignedString(n) + ", more than its " + (size - position())
                        + " remaining bytes can hold");
            }
            return n;
        }

        String str(String what) throws IOException {
            long n = i64();
            if (n < 0 || n > size - position() || n > Integer.MAX_VALUE - 8) {
                throw bad(what + ": string length " + Long.toUnsignedString(n) + " exceeds the bytes left");
            }
            byte[] b = new byte[(int) n];
            int off = 0;
            while (off < b.length) {
                int k = Math.min(b.length - off, buf.capacity());
                need(k);
                buf.get(b, off, k);
                off += k;
            }
            try {
                return StandardCharsets.UTF_8
                        .newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(b))
                        .toString();
            } catch (CharacterCodingException e) {
                throw bad(what + " is not valid UTF-8");
            }
        }

        GgufValueType type(String what) throws IOException {
            int id = i32();
            GgufValueType t = GgufValueType.ofId(id);
            if (t == null) throw bad(what + " has unknown value type " + id);
            return t;
        }

        Object value(GgufValueType t, String key) throws IOException {
            switch (t) {
                case UINT8, BOOL, INT8 -> need(1);
                case UINT16, INT16 -> need(2);
                case UINT32, INT32, FLOAT32 -> need(4);
                case UINT64, INT64, FLOAT64 -> need(8);
                default -> {}
            }
            return switch (t) {
                case UINT8 -> (long) (buf.get() & 0xFF);
                case INT8 -> (long) buf.get();
                case UINT16 -> (long) (buf.getShort() & 0xFFFF);
                case INT16 -> (long) buf.getShort();
                case UINT32 -> buf.getInt() & 0xFFFF_FFFFL;
                case INT32 -> (long) buf.getInt();
                case FLOAT32 -> buf.getFloat();
                case BOOL -> buf.get() != 0;
                case UINT64, INT64 -> buf.getLong();
                case FLOAT64 -> buf.getDouble();
                case STRING -> str("metadata '" + key + "'");
                case ARRAY -> {
                    GgufValueType et = type("metadata '" + key + "' array");
                    if (et == GgufValueType.ARRAY) throw bad("metadata '" + key + "' is an array of arrays");
                    long n = count("metadata '" + key + "' array length", et == GgufValueType.STRING ? 8 : et.size());
                    List<Object> l = new ArrayList<>((int) Math.min(n, 1 << 20));
                    for (long i = 0; i < n; i++) l.add(value(et, key));
                    yield Collections.unmodifiableList(l);
                }
            };
        }

        BadInputException bad(String what) {
            return new BadInputException("GGUF " + file + " " + what + ". Fix: write or download the file again "
                    + "(llama.cpp's convert scripts and `bin/lakelora export-gguf` write valid GGUF)");
        }
    }
}
