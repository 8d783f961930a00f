package io.lakelora.text;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Gives jinjava the Python {@code str} methods that Hugging Face chat templates call ({@code content.startswith(..)},
 * {@code .split(..)}, {@code .strip('\n')}, ...) and Python's negative list indexing ({@code parts[-1]}). jinjava
 * resolves method calls on Java objects by reflection, so on a {@link String} these names would not exist; this
 * resolver runs before jinjava's own and handles only those names, with Python's semantics (checked against Python's
 * jinja2 in {@code ChatTemplateTest}).
 */
final class PyStringResolver extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || method == null) return null;
        Object[] p = params == null ? new Object[0] : params;
        Object result = call(s, method.toString(), p);
        if (result != NOT_HANDLED) context.setPropertyResolved(true);
        return result == NOT_HANDLED ? null : result;
    }

    private static final Object NOT_HANDLED = new Object();

    private static Object call(String s, String name, Object[] p) {
        switch (name) {
            case "startswith":
                return p.length == 1 ? startsOrEnds(s, p[0], true) : NOT_HANDLED;
            case "endswith":
                return p.length == 1 ? startsOrEnds(s, p[0], false) : NOT_HANDLED;
            case "strip":
                return p.length <= 1 ? strip(s, arg(p), true, true) : NOT_HANDLED;
            case "lstrip":
                return p.length <= 1 ? strip(s, arg(p), true, false) : NOT_HANDLED;
            case "rstrip":
                return p.length <= 1 ? strip(s, arg(p), false, true) : NOT_HANDLED;
            case "split":
                return p.length <= 2 ? split(s, arg(p), p.length == 2 ? toInt(p[1]) : -1) : NOT_HANDLED;
            case "upper":
                return p.length == 0 ? s.toUpperCase(Locale.ROOT) : NOT_HANDLED;
            case "lower":
                return p.length == 0 ? s.toLowerCase(Locale.ROOT) : NOT_HANDLED;
            case "title":
                return p.length == 0 ? title(s) : NOT_HANDLED;
            case "capitalize":
                return p.length == 0 ? capitalize(s) : NOT_HANDLED;
            case "replace":
                return p.length == 2 ? s.replace(String.valueOf(p[0]), String.valueOf(p[1])) : NOT_HANDLED;
            case "find":
                return p.length == 1 ? (long) s.indexOf(String.valueOf(p[0])) : NOT_HANDLED;
            case "count":
                return p.length == 1 ? (long) count(s, String.valueOf(p[0])) : NOT_HANDLED;
            case "join":
                return p.length == 1 && p[0] instanceof Iterable<?> it ? join(s, it) : NOT_HANDLED;
            case "isspace":
                return p.length == 0 ? !s.isEmpty() && s.chars().allMatch(Character::isWhitespace) : NOT_HANDLED;
            case "isdigit":
                return p.length == 0 ? !s.isEmpty() && s.chars().allMatch(Character::isDigit) : NOT_HANDLED;
            default:
                return NOT_HANDLED;
        }
    }

    private static String arg(Object[] p) {
        return p.length == 0 || p[0] == null ? null : String.valueOf(p[0]);
    }

    private static int toInt(Object o) {
        if (o instanceof Number n) return n.intValue();
        throw new IllegalArgumentException("chat template: expected a number for split's maxsplit, found '" + o + "'");
    }

    private static boolean startsOrEnds(String s, Object prefix, boolean start) {
        if (prefix instanceof Iterable<?> options) { // Python accepts a tuple of prefixes
            for (Object o : options)
                if (start ? s.startsWith(String.valueOf(o)) : s.endsWith(String.valueOf(o))) return true;
            return false;
        }
        String x = String.valueOf(prefix);
        return start ? s.startsWith(x) : s.endsWith(x);
    }

    /** Python strip: with no argument whitespace, else any of the given characters. */
    static String strip(String s, String chars, boolean left, boolean right) {
        int b = 0;
        int e = s.length();
        if (left) while (b < e && strippable(s.charAt(b), chars)) b++;
        if (right) while (e > b && strippable(s.charAt(e - 1), chars)) e--;
        return s.substring(b, e);
    }

    private static boolean strippable(char c, String chars) {
        return chars == null ? Character.isWhitespace(c) : chars.indexOf(c) >= 0;
    }

    /** Python split: by a separator (empty pieces kept), or with no separator on runs of whitespace. */
    static List<String> split(String s, String sep, int maxSplit) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && Character.isWhitespace(s.charAt(i))) i++;
                if (i >= n) break;
                if (maxSplit >= 0 && out.size() == maxSplit) {
                    out.add(strip(s.substring(i), null, false, true));
                    break;
                }
                int j = i;
                while (j < n && !Character.isWhitespace(s.charAt(j))) j++;
                out.add(s.substring(i, j));
                i = j;
            }
            return out;
        }
        if (sep.isEmpty()) throw new IllegalArgumentException("chat template: split() got an empty separator");
        int from = 0;
        while (maxSplit < 0 || out.size() < maxSplit) {
            int at = s.indexOf(sep, from);
            if (at < 0) break;
            out.add(s.substring(from, at));
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    private static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean prevCased = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            sb.append(prevCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
            prevCased = Character.isLetter(c);
        }
        return sb.toString();
    }

    private static String capitalize(String s) {
        if (s.isEmpty()) return s;
        return Character.toUpperCase(s.charAt(0)) + s.substring(1).toLowerCase(Locale.ROOT);
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) return s.length() + 1;
        int n = 0;
        for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length())) n++;
        return n;
    }

    private static String join(String sep, Iterable<?> items) {
        StringBuilder sb = new StringBuilder();
        boolean first = true;
        for (Object o : items) {
            if (!first) sb.append(sep);
            sb.append(o);
            first = false;
        }
        return sb.toString();
    }

    /** Python's {@code list[-1]}: a negative index counts from the end. */
    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        if (base instanceof List<?> list && property instanceof Number n && n.longValue() < 0) {
            long i = list.size() + n.longValue();
            context.setPropertyResolved(true);
            return i >= 0 ? list.get((int) i) : null;
        }
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {}

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
