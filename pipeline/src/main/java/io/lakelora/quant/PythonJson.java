package io.lakelora.quant;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The text Python's {@code json.dumps(obj)} produces with default settings (separators {@code ", "} and {@code ": "},
 * ASCII only, floats as {@code repr(float)}), for the few value types bitsandbytes puts in a packed quant state:
 * strings, ints, floats, lists/tuples and string-keyed maps (in insertion order). Matching it byte for byte makes our
 * {@code quant_state.bitsandbytes__nf4} tensors identical to the ones bitsandbytes writes. With an indent (and Jackson
 * trees as values) it writes what {@code json.dump(obj, f, indent=n, ensure_ascii=...)} writes, as transformers saves
 * {@code config.json} and {@code tokenizer.json}.
 */
public final class PythonJson {
    private PythonJson() {}

    public static String dumps(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, -1, true, 0);
        return sb.toString();
    }

    /**
     * {@code json.dumps(value, indent=indent, ensure_ascii=ensureAscii)}: separators {@code ","} and {@code ": "},
     * one line per item, empty containers as {@code {}} / {@code []}. Values: as {@link #dumps(Object)}, plus Jackson
     * {@link JsonNode} trees (integral numbers as ints, others as floats).
     */
    public static String dumps(Object value, int indent, boolean ensureAscii) {
        if (indent < 0) throw new IllegalArgumentException("indent " + indent + " < 0");
        StringBuilder sb = new StringBuilder();
        write(sb, value, indent, ensureAscii, 0);
        return sb.toString();
    }

    private static void newline(StringBuilder sb, int indent, int depth) {
        sb.append('\n').append(" ".repeat(indent * depth));
    }

    private static void write(StringBuilder sb, Object v, int indent, boolean ascii, int depth) {
        if (v instanceof JsonNode n) {
            v = n.isObject()
                    ? fields(n)
                    : n.isArray()
                            ? elements(n)
                            : n.isNull() || n.isMissingNode()
                                    ? null
                                    : n.isTextual()
                                            ? n.textValue()
                                            : n.isBoolean()
                                                    ? (Object) n.booleanValue()
                                                    : n.isIntegralNumber()
                                                            ? (Object) n.bigIntegerValue()
                                                            : n.isNumber() ? (Object) n.doubleValue() : fail(n);
        }
        String sep = indent < 0 ? ", " : ",";
        if (v == null) {
            sb.append("null");
        } else if (v instanceof String s) {
            writeString(sb, s, ascii);
        } else if (v instanceof Boolean b) {
            sb.append(b ? "true" : "false");
        } else if (v instanceof Integer || v instanceof Long || v instanceof java.math.BigInteger) {
            sb.append(v);
        } else if (v instanceof Double || v instanceof Float) {
            sb.append(repr(((Number) v).doubleValue()));
        } else if (v instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) sb.append(sep);
                first = false;
                if (indent >= 0) newline(sb, indent, depth + 1);
                writeString(sb, (String) e.getKey(), ascii);
                sb.append(": ");
                write(sb, e.getValue(), indent, ascii, depth + 1);
            }
            if (indent >= 0 && !m.isEmpty()) newline(sb, indent, depth);
            sb.append('}');
        } else if (v instanceof List<?> l) {
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) sb.append(sep);
                if (indent >= 0) newline(sb, indent, depth + 1);
                write(sb, l.get(i), indent, ascii, depth + 1);
            }
            if (indent >= 0 && !l.isEmpty()) newline(sb, indent, depth);
            sb.append(']');
        } else {
            throw new IllegalArgumentException(
                    "no Python JSON form for " + v.getClass().getName());
        }
    }

    private static Map<String, JsonNode> fields(JsonNode n) {
        Map<String, JsonNode> m = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : n.properties()) m.put(e.getKey(), e.getValue());
        return m;
    }

    private static List<JsonNode> elements(JsonNode n) {
        List<JsonNode> l = new ArrayList<>(n.size());
        for (JsonNode e : n) l.add(e);
        return l;
    }

    private static Object fail(JsonNode n) {
        throw new IllegalArgumentException("no Python JSON form for a " + n.getNodeType() + " node");
    }

    /** ensure_ascii escapes everything outside ' '..'~'; without it only '"', '\\' and control characters. */
    private static void writeString(StringBuilder sb, String s, boolean ascii) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || ascii && c > 0x7e) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }

    /**
     * Python's {@code repr(float)}: the shortest decimal that reads back as the same double, in positional notation
     * when the decimal exponent is in [-5, 16), otherwise as {@code d.ddde-XX}; integral values end in ".0".
     * NaN and infinities come out as json.dumps writes them ({@code NaN}, {@code Infinity}, {@code -Infinity}).
     */
    static String repr(double d) {
        if (Double.isNaN(d)) return "NaN";
        if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
        if (d == 0) return (1 / d < 0) ? "-0.0" : "0.0";
        BigDecimal exact = new BigDecimal(d);
        BigDecimal shortest = null;
        for (int p = 1; p <= 17; p++) {
            BigDecimal r = exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
            if (Double.parseDouble(r.toString()) == d) {
                shortest = r;
                break;
            }
        }
        if (shortest == null) throw new IllegalStateException("no round-trip decimal for " + d);
        String digits = shortest.unscaledValue().abs().toString();
        // strip trailing zeros of the digit string (keep at least one digit)
        int end = digits.length();
        while (end > 1 && digits.charAt(end - 1) == '0') end--;
        int trailing = digits.length() - end;
        digits = digits.substring(0, end);
        // value = 0.DIGITS x 10^decpt
        int decpt = digits.length() - shortest.scale() + trailing;
        StringBuilder sb = new StringBuilder();
        if (d < 0) sb.append('-');
        if (decpt > -4 && decpt <= 16) {
            if (decpt <= 0) {
                sb.append("0.").append("0".repeat(-decpt)).append(digits);
            } else if (decpt < digits.length()) {
                sb.append(digits, 0, decpt).append('.').append(digits.substring(decpt));
            } else {
                sb.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
            }
        } else {
            sb.append(digits.charAt(0));
            if (digits.length() > 1) sb.append('.').append(digits.substring(1));
            int exp = decpt - 1;
            sb.append('e').append(exp < 0 ? '-' : '+');
            String e = Integer.toString(Math.abs(exp));
            if (e.length() < 2) sb.append('0');
            sb.append(e);
        }
        return sb.toString();
    }
}
