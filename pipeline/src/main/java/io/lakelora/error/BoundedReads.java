package io.lakelora.error;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Reads of untrusted model and adapter files with a size cap, so a hostile or broken file (a gzip bomb, a
 * multi-gigabyte "config.json") fails with a clear error instead of exhausting the heap of every executor. The caps are
 * generous and each is a system property:
 *
 * <ul>
 *   <li>{@value #TOKENIZER_PROPERTY} (default 1 GiB): {@code tokenizer.json}, also after gunzipping
 *       {@code tokenizer.json.gz}, and any other gunzipped file;
 *   <li>{@value #JSON_PROPERTY} (default 64 MiB): the small JSON files ({@code config.json},
 *       {@code adapter_config.json}, {@code tokenizer_config.json}, {@code generation_config.json}, shard indexes).
 * </ul>
 */
public final class BoundedReads {
    public static final String TOKENIZER_PROPERTY = "lakelora.max.tokenizer.bytes";
    public static final String JSON_PROPERTY = "lakelora.max.json.bytes";
    public static final long DEFAULT_TOKENIZER_BYTES = 1L << 30;
    public static final long DEFAULT_JSON_BYTES = 64L << 20;

    private BoundedReads() {}

    /** The cap for tokenizer files and gunzipped data, in bytes. */
    public static long tokenizerCap() {
        return Long.getLong(TOKENIZER_PROPERTY, DEFAULT_TOKENIZER_BYTES);
    }

    /** The cap for small JSON files, in bytes. */
    public static long jsonCap() {
        return Long.getLong(JSON_PROPERTY, DEFAULT_JSON_BYTES);
    }

    /** A small JSON file ({@code config.json}, {@code adapter_config.json}, ...), at most {@link #jsonCap()} bytes. */
    public static byte[] readJsonFile(Path f) {
        return read(f, jsonCap(), JSON_PROPERTY);
    }

    /** {@link #readJsonFile} as UTF-8 text. */
    public static String readJsonText(Path f) {
        return new String(readJsonFile(f), java.nio.charset.StandardCharsets.UTF_8);
    }

    /** The bytes of {@code f}, failing when it is larger than {@code max} (checked before reading). */
    public static byte[] read(Path f, long max, String property) {
        try {
            long size = Files.size(f);
            if (size > max) throw tooBig(f, "is " + size + " bytes", max, property);
            try (InputStream in = Files.newInputStream(f)) {
                return readCapped(in, f, max, property, "is");
            }
        } catch (java.nio.file.NoSuchFileException e) {
            throw new BadInputException(f + " does not exist. Fix: check the path", e);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + f, e);
        }
    }

    /**
     * The gunzipped bytes of {@code f}, failing as soon as more than {@code max} bytes come out (a gzip bomb is never
     * inflated beyond the cap).
     */
    public static byte[] gunzip(Path f, long max, String property) {
        try (InputStream gz = new GZIPInputStream(Files.newInputStream(f), 1 << 16)) {
            return readCapped(gz, f, max, property, "decompresses to");
        } catch (java.util.zip.ZipException e) {
            throw new BadInputException(
                    f + ": not a valid gzip file (" + e.getMessage() + "). Fix: re-download it, or gunzip it and "
                            + "pass the uncompressed file",
                    e);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + f, e);
        }
    }

    /**
     * The bytes of a stream opened on {@code name} (a lake URI, say), failing as soon as more than {@code max} bytes
     * come out.
     */
    public static byte[] readCapped(InputStream in, String name, long max, String property) throws IOException {
        return readCapped(in, name, max, property, "is");
    }

    private static byte[] readCapped(InputStream in, Path f, long max, String property, String verb)
            throws IOException {
        return readCapped(in, f.toString(), max, property, verb);
    }

    private static byte[] readCapped(InputStream in, String f, long max, String property, String verb)
            throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        long total = 0;
        for (int n; (n = in.read(buf)) > 0; ) {
            total += n;
            if (total > max) throw tooBig(f, verb + " more than " + max + " bytes", max, property);
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    private static BadInputException tooBig(Path f, String what, long max, String property) {
        return tooBig(f.toString(), what, max, property);
    }

    private static BadInputException tooBig(String f, String what, long max, String property) {
        return new BadInputException(f + " " + what + ", over the limit of " + max + " bytes for this kind of file "
                + "(a corrupt or hostile file?). Fix: check the file; if it is genuine, raise the limit with -D"
                + property + "=<bytes>");
    }
}
