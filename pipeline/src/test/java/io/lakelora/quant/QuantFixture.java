package io.lakelora.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;

/**
 * Reads {@code fixtures/quant/quant_cases.json}, written by {@code src/test/python/quant_reference.py} (numpy,
 * independent of the Java code). Arrays are base64 of little-endian f32 / u8 / i8.
 */
public final class QuantFixture {
    public static final String RESOURCE = "/fixtures/quant/quant_cases.json";

    private QuantFixture() {}

    public static JsonNode load() {
        try (InputStream in = QuantFixture.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("test resource " + RESOURCE + " is missing: run "
                        + "/usr/bin/python3 pipeline/src/test/python/quant_reference.py");
            }
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(RESOURCE, e);
        }
    }

    public static byte[] bytes(JsonNode node) {
        return Base64.getDecoder().decode(node.asText());
    }

    public static float[] floats(JsonNode node) {
        byte[] b = bytes(node);
        float[] out = new float[b.length / 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    public static float bitsToFloat(JsonNode node) {
        return Float.intBitsToFloat((int) node.asLong());
    }
}
