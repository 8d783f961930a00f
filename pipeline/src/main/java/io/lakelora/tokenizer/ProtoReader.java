package io.lakelora.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * A minimal protobuf wire-format reader (varint, fixed32, fixed64, length-delimited), enough to walk a SentencePiece
 * {@code ModelProto}. Errors are {@link IllegalArgumentException}s that the caller wraps with the file name.
 */
final class ProtoReader {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LEN = 2;
    static final int FIXED32 = 5;

    private final byte[] buf;
    private int pos;
    private final int limit;
    private int tag;

    ProtoReader(byte[] buf) {
        this(buf, 0, buf.length);
    }

    private ProtoReader(byte[] buf, int from, int limit) {
        this.buf = buf;
        this.pos = from;
        this.limit = limit;
    }

    /** Advances to the next field; false at the end of the message. */
    boolean next() {
        if (pos >= limit) return false;
        long t = varint();
        if (t >>> 3 == 0 || t > Integer.MAX_VALUE)
            throw new IllegalArgumentException("bad field tag " + t + " at byte " + pos);
        tag = (int) t;
        return true;
    }

    int field() {
        return tag >>> 3;
    }

    int wireType() {
        return tag & 7;
    }

    long varint() {
        long r = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= limit) throw new IllegalArgumentException("truncated varint at byte " + pos);
            byte b = buf[pos++];
            r |= (long) (b & 0x7F) << shift;
            if (b >= 0) return r;
        }
        throw new IllegalArgumentException("varint longer than 10 bytes at byte " + pos);
    }

    /** An int32/enum/bool field (negative int32 values come as 10-byte varints). */
    int int32() {
        expect(VARINT);
        return (int) varint();
    }

    boolean bool() {
        return int32() != 0;
    }

    float float32() {
        expect(FIXED32);
        need(4);
        int v = (buf[pos] & 0xFF)
                | (buf[pos + 1] & 0xFF) << 8
                | (buf[pos + 2] & 0xFF) << 16
                | (buf[pos + 3] & 0xFF) << 24;
        pos += 4;
        return Float.intBitsToFloat(v);
    }

    String string() {
        int n = lengthPrefix();
        String s = new String(buf, pos, n, StandardCharsets.UTF_8);
        pos += n;
        return s;
    }

    byte[] bytes() {
        int n = lengthPrefix();
        byte[] b = java.util.Arrays.copyOfRange(buf, pos, pos + n);
        pos += n;
        return b;
    }

    /** A reader over the embedded message of the current length-delimited field. */
    ProtoReader message() {
        int n = lengthPrefix();
        ProtoReader r = new ProtoReader(buf, pos, pos + n);
        pos += n;
        return r;
    }

    /** Skips the current field's value. */
    void skip() {
        switch (wireType()) {
            case VARINT -> varint();
            case FIXED64 -> {
                need(8);
                pos += 8;
            }
            case LEN -> {
                int n = lengthPrefix();
                pos += n;
            }
            case FIXED32 -> {
                need(4);
                pos += 4;
            }
            default -> throw new IllegalArgumentException("unsupported wire type " + wireType() + " at byte " + pos);
        }
    }

    private int lengthPrefix() {
        expect(LEN);
        long n = varint();
        if (n < 0 || n > limit - pos)
            throw new IllegalArgumentException("length " + n + " runs past the message at byte " + pos);
        return (int) n;
    }

    private void expect(int wire) {
        if (wireType() != wire) {
            throw new IllegalArgumentException(
                    "field " + field() + " has wire type " + wireType() + ", expected " + wire);
        }
    }

    private void need(int n) {
        if (limit - pos < n) throw new IllegalArgumentException("truncated field at byte " + pos);
    }
}
