package io.lakelora.quant;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.List;
import java.util.Map;

/**
 * The text Python's {@code json.dumps(obj)} produces with default settings (separators {@code ", "} and {@code ": "},
 * ASCII only, floats as {@code repr(float)}), for the few value types bitsandbytes puts in a packed quant state:
 * strings, ints, floats, lists/tuples and string-keyed maps (in insertion order). Matching it byte for byte makes our
 * {@code quant_state.bitsandbytes__nf4} tensors identical to the ones bitsandbytes writes.
 */
final class PythonJson {
    private PythonJson() {}

    static String dumps(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof String s) {
            writeString(sb, s);
        } else if (v instanceof Boolean b) {
            sb.append(b ? "true" : "false");
        } else if (v instanceof Integer || v instanceof Long) {
            sb.append(v);
        } else if (v instanceof Double || v instanceof Float) {
            sb.append(repr(((Number) v).doubleValue()));
        } else if (v instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) sb.append(", ");
                first = false;
                writeString(sb, (String) e.getKey());
                sb.append(": ");
                write(sb, e.getValue());
            }
            sb.append('}');
        } else if (v instanceof List<?> l) {
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) sb.append(", ");
                write(sb, l.get(i));
            }
            sb.append(']');
        } else {
            throw new IllegalArgumentException("no Python JSON form for " + v.getClass().getName());
        }
    }

    private static void writeString(StringBuilder sb, String s) {
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
                    if (c < 0x20 || c > 0x7e) sb.append(String.format("\\u%04x", (int) c));
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
