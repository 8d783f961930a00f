package io.lakelora.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.lakelora.error.BadInputException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses and validates a safetensors header (the JSON after the 8-byte length) against the size of the data area:
 * every entry has dtype/shape/data_offsets, shape x dtype size equals the byte range, ranges lie inside the data area,
 * and they cover it exactly (sorted by offset, each starts where the previous ended, no overlap, no gap).
 */
final class SafetensorsHeader {
    /** The reference implementation's limit (safetensors MAX_HEADER_SIZE). */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    static final String METADATA_KEY = "__metadata__";
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();

    final Map<String, TensorInfo> tensors; // in data order
    final Map<String, String> metadata;

    private SafetensorsHeader(Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.tensors = tensors;
        this.metadata = metadata;
    }

    static SafetensorsHeader parse(byte[] headerBytes, long dataSize, String file) {
        String text;
        try {
            text = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(headerBytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw bad(
                    file,
                    null,
                    "the header is not valid UTF-8",
                    "the file is corrupt or not safetensors; re-export it");
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw bad(
                    file,
                    null,
                    "the header is not valid JSON (" + e.getOriginalMessage() + "; it starts with " + quoteStart(text)
                            + ")",
                    "the file is corrupt or not safetensors; re-export it");
        }
        if (root == null || !root.isObject()) {
            throw bad(
                    file,
                    null,
                    "the header is JSON " + (root == null ? "nothing" : root.getNodeType())
                            + ", expected an object {name: {dtype, shape, data_offsets}}",
                    "re-export the file");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        List<TensorInfo> list = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals(METADATA_KEY)) {
                readMetadata(e.getValue(), metadata, file);
            } else {
                list.add(readEntry(e.getKey(), e.getValue(), dataSize, file));
            }
        }
        list.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long pos = 0;
        TensorInfo prev = null;
        for (TensorInfo t : list) {
            if (t.begin() < pos) {
                throw bad(
                        file,
                        t.name(),
                        "its bytes [" + t.begin() + ", " + t.end() + ") overlap tensor '" + prev.name() + "' ["
                                + prev.begin() + ", " + prev.end() + ")",
                        "re-export the file; the header is corrupt");
            }
            if (t.begin() > pos) {
                throw bad(
                        file,
                        t.name(),
                        "there is a gap of " + (t.begin() - pos) + " unused bytes [" + pos + ", " + t.begin()
                                + ") before it",
                        "re-export the file; the data area must be covered exactly");
            }
            pos = t.end();
            prev = t;
        }
        if (pos != dataSize) {
            throw bad(
                    file,
                    prev == null ? null : prev.name(),
                    "the tensors cover " + pos + " bytes but the data area has " + dataSize + " (" + (dataSize - pos)
                            + " trailing bytes)",
                    "re-export the file or truncate the extra bytes");
        }
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (TensorInfo t : list) byName.put(t.name(), t);
        return new SafetensorsHeader(Collections.unmodifiableMap(byName), Collections.unmodifiableMap(metadata));
    }

    private static void readMetadata(JsonNode n, Map<String, String> out, String file) {
        if (!n.isObject())
            throw bad(
                    file,
                    null,
                    "__metadata__ is " + n.getNodeType() + ", expected an object of strings",
                    "re-export the file");
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> m = it.next();
            if (!m.getValue().isTextual()) {
                throw bad(
                        file,
                        null,
                        "__metadata__." + m.getKey() + " is " + m.getValue().getNodeType() + ", expected a string",
                        "re-export the file (metadata values are strings)");
            }
            out.put(m.getKey(), m.getValue().textValue());
        }
    }

    private static TensorInfo readEntry(String name, JsonNode n, long dataSize, String file) {
        String fix = "re-export the file; the header entry is malformed";
        if (!n.isObject())
            throw bad(file, name, "the entry is " + n.getNodeType() + ", expected {dtype, shape, data_offsets}", fix);
        JsonNode dt = n.get("dtype");
        JsonNode sh = n.get("shape");
        JsonNode off = n.get("data_offsets");
        if (dt == null || !dt.isTextual()) throw bad(file, name, "missing or non-string 'dtype'", fix);
        if (sh == null || !sh.isArray()) throw bad(file, name, "missing or non-array 'shape'", fix);
        if (off == null || !off.isArray() || off.size() != 2)
            throw bad(file, name, "'data_offsets' must be [begin, end]", fix);
        DType dtype;
        try {
            dtype = DType.parse(dt.textValue());
        } catch (UnsupportedOperationException e) {
            throw new UnsupportedOperationException(
                    "safetensors " + file + ", tensor '" + name + "': " + e.getMessage(), e);
        }
        long[] shape = new long[sh.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.longValue() < 0) {
                throw bad(file, name, "shape " + sh + " has a non-integer or negative dimension", fix);
            }
            shape[i] = d.longValue();
        }
        for (JsonNode o : off) {
            if (!o.isIntegralNumber() || !o.canConvertToLong() || o.longValue() < 0) {
                throw bad(file, name, "data_offsets " + off + " are not non-negative integers", fix);
            }
        }
        long begin = off.get(0).longValue();
        long end = off.get(1).longValue();
        if (end < begin) throw bad(file, name, "data_offsets " + off + " end before they begin", fix);
        if (end > dataSize) {
            throw bad(
                    file,
                    name,
                    "data_offsets " + off + " reach past the data area (" + dataSize + " bytes)",
                    "the file is truncated or its header is corrupt; re-download or re-export it");
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(TensorInfo.numel(shape), dtype.size());
        } catch (ArithmeticException e) {
            throw bad(file, name, "shape " + Arrays.toString(shape) + " overflows a 64-bit byte count", fix);
        }
        if (bytes != end - begin) {
            throw bad(
                    file,
                    name,
                    "shape " + Arrays.toString(shape) + " x " + dtype + " (" + dtype.size() + " B) = " + bytes
                            + " bytes but data_offsets " + off + " span " + (end - begin),
                    fix);
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static String quoteStart(String s) {
        String t = s.length() > 40 ? s.substring(0, 40) + "..." : s;
        return "\"" + t.replaceAll("\\p{Cntrl}", "?") + "\"";
    }

    static BadInputException bad(String file, String tensor, String what, String fix) {
        return new BadInputException("safetensors " + file + (tensor == null ? "" : ", tensor '" + tensor + "'") + ": "
                + what + ". Fix: " + fix);
    }
}
