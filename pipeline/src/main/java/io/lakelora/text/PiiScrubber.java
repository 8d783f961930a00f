package io.lakelora.text;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Replaces personal data with placeholders and counts what it replaced, per kind (YAML section {@code pii}). Kinds, in
 * the order they are applied (earlier kinds win where matches overlap):
 * <ul>
 *   <li>{@code email} -> {@code [EMAIL]}: local@domain.tld;</li>
 *   <li>{@code card} -> {@code [CARD]}: 13-19 digits, optionally grouped by spaces or dashes, that pass the Luhn check
 *       (numbers that fail it are left alone);</li>
 *   <li>{@code ipv6} -> {@code [IPV6]}: full or {@code ::}-compressed forms (optionally ending in dotted IPv4),
 *       validated group by group and holding at least one decimal digit, so times like {@code 12:30:45} and
 *       scope operators like {@code a::b} are not taken;</li>
 *   <li>{@code ipv4} -> {@code [IPV4]}: four dotted octets, each 0-255;</li>
 *   <li>{@code phone} -> {@code [PHONE]}: digit groups separated by space, dot or dash, optionally with a {@code +}
 *       country code and a parenthesised area code; 10-15 digits (8-15 when it starts with {@code +}); ISO dates
 *       ({@code 2024-01-31}) are not phones.</li>
 * </ul>
 * Pure and thread-safe; backs the {@code scrub_pii} SQL UDF and job 01.
 */
public final class PiiScrubber implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The kinds, in application order. */
    public static final List<String> KINDS = List.of("email", "card", "ipv6", "ipv4", "phone");

    /** Settings (YAML section {@code pii}). */
    public static final class Options implements Serializable {
        private static final long serialVersionUID = 1L;

        @JsonProperty("enabled")
        public boolean enabled = true;
        /** Which kinds to scrub (subset of email, card, ipv6, ipv4, phone). */
        @JsonProperty("kinds")
        public List<String> kinds = new ArrayList<>(KINDS);

        public void validate(String prefix) {
            if (kinds == null)
                throw new IllegalArgumentException("config key '" + prefix + ".kinds' is null. Fix: " + "list some of "
                        + KINDS + " or set " + prefix + ".enabled: false");
            for (String k : kinds) {
                if (!KINDS.contains(k)) {
                    throw new IllegalArgumentException("config key '" + prefix + ".kinds' has '" + k
                            + "', expected one of " + KINDS + ". Fix: correct the name");
                }
            }
        }
    }

    /** Scrubbed text and the number of replacements per kind (every enabled kind present, possibly 0). */
    public record Result(String text, Map<String, Integer> counts) {
        public int total() {
            return counts.values().stream().mapToInt(Integer::intValue).sum();
        }
    }

    private static final Pattern EMAIL =
            Pattern.compile("(?<![\\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    + "(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\\.[A-Za-z]{2,}(?![\\w-])");
    private static final Pattern CARD = Pattern.compile("(?<![\\w-])\\d(?:[ -]?\\d){12,18}(?![\\w-])");
    private static final Pattern IPV6 = Pattern.compile(
            "(?<![\\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\\d{1,3}\\.){3}\\d{1,3})?(?![\\w:])"
                    + "|(?<![\\w:.])::(?![\\w:])");
    private static final Pattern IPV4 = Pattern.compile("(?<![\\w.])(?:\\d{1,3}\\.){3}\\d{1,3}(?![\\w]|\\.\\d)");
    private static final Pattern PHONE = Pattern.compile(
            "(?<![\\w+])(?:\\+\\d{1,3}[ .-]?)?(?:\\(\\d{1,4}\\)[ .-]?)?\\d{1,4}(?:[ .-]\\d{1,4}){1,5}(?![\\w])"
                    + "|(?<![\\w+])\\+\\d{8,15}(?![\\w])");
    private static final Pattern ISO_DATE = Pattern.compile("\\d{4}[-./]\\d{1,2}[-./]\\d{1,2}");

    private final List<String> kinds;
    private final boolean enabled;

    public PiiScrubber(Options options) {
        options.validate("pii");
        this.enabled = options.enabled;
        this.kinds = List.copyOf(options.kinds);
    }

    /** All kinds enabled. */
    public static PiiScrubber defaults() {
        return new PiiScrubber(new Options());
    }

    public Result scrub(String text) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        if (!enabled || text == null) return new Result(text, counts);
        String s = text;
        for (String kind : KINDS) {
            if (!kinds.contains(kind)) continue;
            int[] n = new int[1];
            s = switch (kind) {
                case "email" -> replace(s, EMAIL, "[EMAIL]", m -> true, n);
                case "card" -> replace(s, CARD, "[CARD]", PiiScrubber::isCard, n);
                case "ipv6" -> replace(s, IPV6, "[IPV6]", PiiScrubber::isIpv6, n);
                case "ipv4" -> replace(s, IPV4, "[IPV4]", PiiScrubber::isIpv4, n);
                case "phone" -> replace(s, PHONE, "[PHONE]", PiiScrubber::isPhone, n);
                default -> throw new IllegalStateException(kind);
            };
            counts.put(kind, n[0]);
        }
        return new Result(s, counts);
    }

    private interface Check {
        boolean test(String match);
    }

    private static String replace(String s, Pattern p, String placeholder, Check check, int[] count) {
        Matcher m = p.matcher(s);
        StringBuilder sb = null;
        int last = 0;
        while (m.find()) {
            if (!check.test(m.group())) continue;
            if (sb == null) sb = new StringBuilder(s.length());
            sb.append(s, last, m.start()).append(placeholder);
            last = m.end();
            count[0]++;
        }
        if (sb == null) return s;
        return sb.append(s, last, s.length()).toString();
    }

    static boolean isCard(String match) {
        String digits = match.replaceAll("[ -]", "");
        return digits.length() >= 13 && digits.length() <= 19 && luhn(digits);
    }

    /** The Luhn checksum (ISO/IEC 7812): double every second digit from the right; the sum is a multiple of 10. */
    public static boolean luhn(String digits) {
        int sum = 0;
        boolean dbl = false;
        for (int i = digits.length() - 1; i >= 0; i--) {
            int d = digits.charAt(i) - '0';
            if (d < 0 || d > 9) return false;
            if (dbl) {
                d *= 2;
                if (d > 9) d -= 9;
            }
            sum += d;
            dbl = !dbl;
        }
        return sum % 10 == 0;
    }

    static boolean isIpv4(String match) {
        String[] parts = match.split("\\.");
        if (parts.length != 4) return false;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || Integer.parseInt(p) > 255) return false;
        }
        return true;
    }

    /** RFC 4291 text forms: 8 groups, or fewer with exactly one {@code ::}; a dotted IPv4 tail counts as 2 groups. */
    static boolean isIpv6(String match) {
        String s = match.toLowerCase(Locale.ROOT);
        if (s.chars().noneMatch(Character::isDigit)) return false;
        int dc = s.indexOf("::");
        if (dc >= 0 && s.indexOf("::", dc + 1) >= 0) return false;
        if (dc < 0 && (s.startsWith(":") || s.endsWith(":"))) return false;
        int groups = 0;
        String[] halves = dc >= 0 ? new String[] {s.substring(0, dc), s.substring(dc + 2)} : new String[] {s};
        for (int h = 0; h < halves.length; h++) {
            if (halves[h].isEmpty()) continue;
            String[] g = halves[h].split(":", -1);
            for (int i = 0; i < g.length; i++) {
                boolean lastOfAll = (h == halves.length - 1) && i == g.length - 1;
                if (lastOfAll && g[i].contains(".")) {
                    if (!isIpv4(g[i])) return false;
                    groups += 2;
                } else {
                    if (g[i].isEmpty() || g[i].length() > 4 || !g[i].matches("[0-9a-f]+")) return false;
                    groups++;
                }
            }
        }
        return dc >= 0 ? groups <= 7 : groups == 8;
    }

    static boolean isPhone(String match) {
        int digits = 0;
        for (int i = 0; i < match.length(); i++) if (Character.isDigit(match.charAt(i))) digits++;
        boolean plus = match.startsWith("+");
        if (digits > 15 || digits < (plus ? 8 : 10)) return false;
        return !ISO_DATE.matcher(match).lookingAt() || plus;
    }
}
