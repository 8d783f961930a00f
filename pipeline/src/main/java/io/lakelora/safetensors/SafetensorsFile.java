package io.lakelora.safetensors;

import io.lakelora.error.BadInputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A read-only, memory-mapped safetensors file. {@link #open} validates the whole header against the file size before
 * anything is mapped (see {@link SafetensorsHeader}); each tensor is mapped lazily on first use, in chunks of at most
 * 1 GiB so tensors over 2 GB work. Reads are thread-safe (each call works on its own buffer views).
 *
 * <p>Closing releases the file channel; mappings already handed out stay valid until garbage-collected (Java 17 has
 * no explicit unmap), reads through this object throw {@link IllegalStateException} afterwards.
 */
public final class SafetensorsFile implements AutoCloseable {
    static final long DEFAULT_CHUNK_BYTES = 1L << 30;

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final SafetensorsHeader header;
    private final long chunkBytes;
    private final Map<String, ByteBuffer[]> mapped = new ConcurrentHashMap<>();
    private volatile boolean closed;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, SafetensorsHeader header, long chunkBytes) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.header = header;
        this.chunkBytes = chunkBytes;
    }

    /** Opens and validates {@code file}; a malformed file is a {@link BadInputException} naming file, tensor and fix. */
    public static SafetensorsFile open(Path file) {
        return open(file, DEFAULT_CHUNK_BYTES);
    }

    /** As {@link #open(Path)} with a custom mapping chunk size (a positive multiple of 8; small values test chunking). */
    static SafetensorsFile open(Path file, long chunkBytes) {
        if (chunkBytes <= 0 || chunkBytes % 8 != 0 || chunkBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("chunkBytes must be a positive multiple of 8 below 2^31: " + chunkBytes);
        }
        Path p = file.toAbsolutePath().normalize();
        String name = p.toString();
        FileChannel ch;
        try {
            ch = FileChannel.open(p, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new BadInputException(
                    "safetensors " + name + ": file not found. Fix: check the path (a model "
                            + "directory holds model.safetensors or model.safetensors.index.json)",
                    e);
        } catch (IOException e) {
            throw new UncheckedIOException("opening " + name, e);
        }
        try {
            long size = size(ch, name);
            if (size < 8) {
                throw SafetensorsHeader.bad(
                        name,
                        null,
                        "the file has " + size + " bytes; a safetensors file starts with " + "an 8-byte header length",
                        "the file is truncated or empty; re-download or re-export it");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, name);
            long n = lenBuf.getLong(0); // u64; a value >= 2^63 reads negative here
            if (n < 0 || n > SafetensorsHeader.MAX_HEADER_BYTES) {
                throw SafetensorsHeader.bad(
                        name,
                        null,
                        "the header length field says " + Long.toUnsignedString(n) + " bytes, over the "
                                + SafetensorsHeader.MAX_HEADER_BYTES + "-byte limit",
                        "the file is corrupt or not a safetensors file");
            }
            if (n > size - 8) {
                throw SafetensorsHeader.bad(
                        name,
                        null,
                        "the header length field says " + n + " bytes but only " + (size - 8) + " follow it",
                        "the file is truncated or corrupt; re-download or re-export it");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) n);
            readFully(ch, hb, 8, name);
            SafetensorsHeader h = SafetensorsHeader.parse(hb.array(), size - 8 - n, name);
            return new SafetensorsFile(p, ch, 8 + n, h, chunkBytes);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static long size(FileChannel ch, String name) {
        try {
            return ch.size();
        } catch (IOException e) {
            throw new UncheckedIOException("reading the size of " + name, e);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos, String name) {
        try {
            while (b.hasRemaining()) {
                int r = ch.read(b, pos + b.position());
                if (r < 0)
                    throw new BadInputException(
                            "safetensors " + name + ": unexpected end of file. Fix: re-download it");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + name, e);
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // already failing with a better error
        }
    }

    /** The file. */
    public Path path() {
        return path;
    }

    /** {@code __metadata__} (empty when absent), e.g. {"format": "pt"}. */
    public Map<String, String> metadata() {
        return header.metadata;
    }

    /** All tensors by name, in the order of their data in the file. */
    public Map<String, TensorInfo> tensors() {
        return header.tensors;
    }

    /** True when the file has a tensor {@code name}. */
    public boolean contains(String name) {
        return header.tensors.containsKey(name);
    }

    /** Absolute file offset of the data area (8 + header length). */
    public long dataStart() {
        return dataStart;
    }

    /** The entry of {@code name}; a missing name is an {@link IllegalArgumentException} naming the file. */
    public TensorInfo info(String name) {
        TensorInfo t = header.tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("safetensors " + path + " has no tensor '" + name + "' (it has "
                    + header.tensors.size() + " tensors"
                    + (header.tensors.isEmpty()
                            ? ""
                            : ", e.g. '" + header.tensors.keySet().iterator().next() + "'") + ")");
        }
        return t;
    }

    /**
     * Read-only little-endian views of the tensor's bytes: one buffer per chunk of at most 1 GiB (a multiple of 8
     * bytes, so no element straddles two buffers); one empty buffer for an empty tensor.
     */
    public ByteBuffer[] buffers(String name) {
        ensureOpen();
        TensorInfo t = info(name);
        ByteBuffer[] bufs = mapped.computeIfAbsent(name, k -> map(t));
        ByteBuffer[] out = new ByteBuffer[bufs.length];
        for (int i = 0; i < bufs.length; i++) out[i] = bufs[i].duplicate().order(ByteOrder.LITTLE_ENDIAN);
        return out;
    }

    /** The tensor's bytes as one read-only little-endian buffer; tensors over 1 GiB (one chunk) need {@link #buffers}. */
    public ByteBuffer buffer(String name) {
        TensorInfo t = info(name);
        if (t.byteSize() > chunkBytes) {
            throw new UnsupportedOperationException("tensor '" + name + "' in " + path + " has " + t.byteSize()
                    + " bytes, more than one buffer holds; use buffers(name) or readFloats(name, from, dst, off, n)");
        }
        return buffers(name)[0];
    }

    private ByteBuffer[] map(TensorInfo t) {
        long size = t.byteSize();
        int n = size == 0 ? 1 : (int) ((size + chunkBytes - 1) / chunkBytes);
        ByteBuffer[] bufs = new ByteBuffer[n];
        try {
            for (int i = 0; i < n; i++) {
                long off = i * chunkBytes;
                long len = Math.min(chunkBytes, size - off);
                bufs[i] = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin() + off, len)
                        .order(ByteOrder.LITTLE_ENDIAN);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("mapping tensor '" + t.name() + "' of " + path, e);
        }
        return bufs;
    }

    /** The whole tensor as floats (F32, F16 or BF16 converted); at most 2^31-1 elements. */
    public float[] readFloats(String name) {
        TensorInfo t = info(name);
        long n = t.numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new UnsupportedOperationException(
                    "tensor '" + name + "' in " + path + " has " + n + " elements, more "
                            + "than a Java array holds; read it in parts with readFloats(name, from, dst, off, count)");
        }
        float[] out = new float[(int) n];
        readFloats(name, 0, out, 0, out.length);
        return out;
    }

    /** Reads {@code count} elements starting at element {@code from} (row-major) into {@code dst[off..]} as floats. */
    public void readFloats(String name, long from, float[] dst, int off, int count) {
        TensorInfo t = info(name);
        if (!t.dtype().isFloat()) {
            throw new UnsupportedOperationException("tensor '" + name + "' in " + path + " is " + t.dtype()
                    + "; readFloats converts F32, F16 and BF16 only (use buffers(name) for integer data)");
        }
        checkRange(t, from, count);
        java.util.Objects.checkFromIndexSize(off, count, dst.length);
        ByteBuffer[] bufs = buffers(name);
        int es = t.dtype().size();
        short[] tmp = es == 2 ? new short[Math.min(count, 8192)] : null;
        while (count > 0) {
            long pos = from * es;
            ByteBuffer b = bufs[(int) (pos / chunkBytes)];
            int within = (int) (pos % chunkBytes);
            int n = Math.min(count, (b.limit() - within) / es);
            ByteBuffer view = b.duplicate().order(ByteOrder.LITTLE_ENDIAN).position(within);
            if (t.dtype() == DType.F32) {
                view.asFloatBuffer().get(dst, off, n);
            } else {
                n = Math.min(n, tmp.length);
                view.asShortBuffer().get(tmp, 0, n);
                if (t.dtype() == DType.BF16) {
                    for (int i = 0; i < n; i++) dst[off + i] = Halfs.bf16ToFloat(tmp[i]);
                } else {
                    for (int i = 0; i < n; i++) dst[off + i] = Halfs.f16ToFloat(tmp[i]);
                }
            }
            from += n;
            off += n;
            count -= n;
        }
    }

    /** The tensor's raw little-endian bytes (at most 2^31-1). */
    public byte[] readBytes(String name) {
        TensorInfo t = info(name);
        if (t.byteSize() > Integer.MAX_VALUE - 8) {
            throw new UnsupportedOperationException("tensor '" + name + "' in " + path + " has " + t.byteSize()
                    + " bytes, more than a Java array holds; use buffers(name)");
        }
        byte[] out = new byte[(int) t.byteSize()];
        int off = 0;
        for (ByteBuffer b : buffers(name)) {
            int n = b.remaining();
            b.get(out, off, n);
            off += n;
        }
        return out;
    }

    private void checkRange(TensorInfo t, long from, int count) {
        if (from < 0 || count < 0 || from > t.numel() - count) {
            throw new IndexOutOfBoundsException("elements [" + from + ", " + from + "+" + count + ") outside tensor '"
                    + t.name() + "' of " + t.numel() + " elements in " + path);
        }
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("safetensors " + path + " is closed");
    }

    @Override
    public void close() {
        closed = true;
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing " + path, e);
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + header.tensors.size() + " tensors]";
    }
}
