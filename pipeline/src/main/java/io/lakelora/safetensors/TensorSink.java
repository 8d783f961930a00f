package io.lakelora.safetensors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;

/**
 * Receives one tensor's elements in row-major order while a safetensors file is written, converting them to the
 * tensor's dtype and streaming them to disk through a 1 MiB buffer. Writing more or fewer bytes than the declared
 * shape needs is an {@link IllegalStateException} naming the tensor.
 */
public final class TensorSink {
    private final WritableByteChannel out;
    private final ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
    private String name;
    private DType dtype;
    private long expected;
    private long written;

    TensorSink(WritableByteChannel out) {
        this.out = out;
    }

    void begin(String name, DType dtype, long expectedBytes) {
        this.name = name;
        this.dtype = dtype;
        this.expected = expectedBytes;
        this.written = 0;
    }

    void end() {
        if (written != expected) {
            throw new IllegalStateException("tensor '" + name + "': the source wrote " + written
                    + " bytes but its shape " + "and dtype " + dtype + " need " + expected);
        }
        flush();
    }

    /** The dtype being written. */
    public DType dtype() {
        return dtype;
    }

    /** Floats, converted to the tensor's F32, F16 or BF16 (round to nearest even). */
    public void writeFloats(float[] src, int off, int len) {
        if (!dtype.isFloat()) throw wrongType("float[]");
        reserve(src.length, off, len);
        while (len > 0) {
            int n = room(len);
            if (dtype == DType.F32) {
                buf.asFloatBuffer().put(src, off, n);
                buf.position(buf.position() + 4 * n);
            } else if (dtype == DType.F16) {
                for (int i = off; i < off + n; i++) buf.putShort(Halfs.floatToF16(src[i]));
            } else {
                for (int i = off; i < off + n; i++) buf.putShort(Halfs.floatToBf16(src[i]));
            }
            off += n;
            len -= n;
        }
    }

    /** 16-bit values as they are (F16/BF16 bit patterns). */
    public void writeShorts(short[] src, int off, int len) {
        if (dtype != DType.F16 && dtype != DType.BF16) throw wrongType("short[]");
        reserve(src.length, off, len);
        while (len > 0) {
            int n = room(len);
            buf.asShortBuffer().put(src, off, n);
            buf.position(buf.position() + 2 * n);
            off += n;
            len -= n;
        }
    }

    /** I32 values. */
    public void writeInts(int[] src, int off, int len) {
        if (dtype != DType.I32) throw wrongType("int[]");
        reserve(src.length, off, len);
        while (len > 0) {
            int n = room(len);
            buf.asIntBuffer().put(src, off, n);
            buf.position(buf.position() + 4 * n);
            off += n;
            len -= n;
        }
    }

    /** I64 values. */
    public void writeLongs(long[] src, int off, int len) {
        if (dtype != DType.I64) throw wrongType("long[]");
        reserve(src.length, off, len);
        while (len > 0) {
            int n = room(len);
            buf.asLongBuffer().put(src, off, n);
            buf.position(buf.position() + 8 * n);
            off += n;
            len -= n;
        }
    }

    /** Raw little-endian bytes of any dtype. */
    public void writeBytes(byte[] src, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, src.length);
        if (written + len > expected) overflow(len);
        written += len;
        while (len > 0) {
            if (!buf.hasRemaining()) flush();
            int n = Math.min(len, buf.remaining());
            buf.put(src, off, n);
            off += n;
            len -= n;
        }
    }

    /** Checks the range and that {@code len} elements of this dtype fit in what remains; counts them as written. */
    private void reserve(int srcLength, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, srcLength);
        long bytes = (long) len * dtype.size();
        if (written + bytes > expected) overflow(bytes);
        written += bytes;
    }

    /** Elements (of at most {@code len}) that fit in the buffer now, flushing it first when full. */
    private int room(int len) {
        if (buf.remaining() < dtype.size()) flush();
        return Math.min(len, buf.remaining() / dtype.size());
    }

    private void overflow(long more) {
        throw new IllegalStateException("tensor '" + name + "': the source wrote more than the " + expected
                + " bytes its shape and dtype " + dtype + " need (" + (written + more) + " so far)");
    }

    private IllegalArgumentException wrongType(String given) {
        return new IllegalArgumentException(
                "tensor '" + name + "' is " + dtype + "; it cannot be written from " + given);
    }

    private void flush() {
        buf.flip();
        try {
            while (buf.hasRemaining()) out.write(buf);
        } catch (IOException e) {
            throw new UncheckedIOException("writing tensor '" + name + "'", e);
        }
        buf.clear();
    }
}
