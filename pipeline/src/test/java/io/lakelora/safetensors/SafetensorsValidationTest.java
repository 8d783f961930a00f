package io.lakelora.safetensors;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.error.BadInputException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every malformed file fails at open with a message naming the file, the tensor (when there is one) and the fix. */
class SafetensorsValidationTest {
    @TempDir
    Path dir;

    /** A file with the given length field, header bytes and data-area size. */
    private Path file(long lengthField, byte[] header, int dataBytes) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(lengthField).put(header);
        Path f = Files.createTempFile(dir, "bad", ".safetensors");
        Files.write(f, b.array());
        return f;
    }

    private Path file(String header, int dataBytes) throws Exception {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return file(h.length, h, dataBytes);
    }

    private static void fails(Path f, String... fragments) {
        BadInputException e = assertThrows(
                BadInputException.class, () -> SafetensorsFile.open(f).close());
        String m = e.getMessage();
        assertTrue(m.contains(f.toAbsolutePath().toString()), "names the file: " + m);
        assertTrue(m.contains("Fix:"), "gives a fix: " + m);
        for (String s : fragments) assertTrue(m.contains(s), "'" + s + "' in: " + m);
    }

    private static String entry(String name, String dtype, String shape, long b, long e) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + b + "," + e
                + "]}";
    }

    @Test
    void truncatedFile() throws Exception {
        Path f = dir.resolve("t.safetensors");
        Files.write(f, new byte[] {1, 2, 3, 4, 5});
        fails(f, "5 bytes", "truncated");
    }

    @Test
    void headerLengthLargerThanTheFile() throws Exception {
        fails(file(1000, "{}".getBytes(), 0), "says 1000 bytes", "only 2 follow");
    }

    @Test
    void twoGigabyteHeaderClaimFailsFastWithoutAllocating() throws Exception {
        long before = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
        fails(file(2_000_000_000L, "{}".getBytes(), 0), "2000000000", "100000000-byte limit");
        fails(file(-1L, "{}".getBytes(), 0), "18446744073709551615"); // u64 max
        long after = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
        assertTrue(after - before < 500_000_000L, "no 2 GB buffer was allocated");
    }

    @Test
    void headerNotJsonOrNotUtf8OrNotAnObject() throws Exception {
        fails(file("this is not json", 0), "not valid JSON", "this is not json");
        fails(file(4, new byte[] {'{', (byte) 0xC3, (byte) 0x28, '}'}, 0), "not valid UTF-8");
        fails(file("[1,2,3]", 0), "expected an object");
    }

    @Test
    void unsupportedDtypeNamesItAndTheSupportedList() throws Exception {
        Path f = file("{" + entry("w", "F64", "[1]", 0, 8) + "}", 8);
        UnsupportedOperationException e =
                assertThrows(UnsupportedOperationException.class, () -> SafetensorsFile.open(f));
        String m = e.getMessage();
        assertTrue(
                m.contains("'F64'")
                        && m.contains("'w'")
                        && m.contains("F32, F16, BF16, I8, U8, I32, I64")
                        && m.contains(f.toAbsolutePath().toString()),
                m);
    }

    @Test
    void offsetsOutOfRange() throws Exception {
        fails(file("{" + entry("w", "F32", "[4]", 0, 16) + "}", 8), "'w'", "past the data area (8 bytes)");
    }

    @Test
    void overlappingTensors() throws Exception {
        fails(
                file("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}", 12),
                "'b'",
                "overlap tensor 'a'");
    }

    @Test
    void sizeDisagreesWithShape() throws Exception {
        fails(file("{" + entry("w", "F32", "[2,2]", 0, 12) + "}", 12), "'w'", "= 16 bytes", "span 12");
    }

    @Test
    void gapBetweenTensorsAndTrailingBytes() throws Exception {
        fails(
                file("{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 8, 12) + "}", 12),
                "'b'",
                "gap of 4");
        fails(file("{" + entry("a", "F32", "[1]", 0, 4) + "}", 12), "8 trailing bytes");
        fails(file("{" + entry("a", "F32", "[1]", 4, 8) + "}", 8), "'a'", "gap of 4");
    }

    @Test
    void malformedEntries() throws Exception {
        fails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), "'w'", "data_offsets");
        fails(file("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "'w'", "dtype");
        fails(file("{" + entry("w", "F32", "[-1]", 0, 4) + "}", 4), "'w'", "negative");
        fails(file("{" + entry("w", "F32", "[4294967296,4294967296]", 0, 4) + "}", 4), "'w'", "overflows");
        fails(file("{\"__metadata__\":{\"format\":1}}", 0), "__metadata__.format");
        fails(file("{" + entry("w", "F32", "[1]", 0, 4) + "," + entry("w", "F32", "[1]", 0, 4) + "}", 4), "Duplicate");
    }
}
