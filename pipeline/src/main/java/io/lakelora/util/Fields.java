package io.lakelora.util;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A record as the ordered map the commands print as JSON: {@code Fields.of(result)} has one entry per component, in
 * declaration order, keyed by the component's name in snake_case ({@code datasetVersion -> dataset_version}). A nested
 * record becomes a nested map, and so does every record in a list, set or map value; other values are kept as they are.
 *
 * <p>Two annotations on a component handle the exceptions: {@link Key @Key("report")} gives it another key,
 * {@link Skip @Skip} leaves it out. Derived values (a perplexity, {@code name@version}, a status word) are the
 * caller's: put them after {@code of(this)}. A derived value that stands for a component takes the component's place
 * when put under the component's key, since a {@link LinkedHashMap} keeps a key where it is when its value is replaced:
 * <pre>{@code
 * record Result(String runId, @Fields.Key("status") boolean created) {
 *     Map<String, Object> asMap() {
 *         Map<String, Object> m = Fields.of(this);      // {run_id=..., status=true}
 *         m.put("status", created ? "created" : "unchanged");
 *         return m;
 *     }
 * }
 * }</pre>
 */
public final class Fields {
    private Fields() {}

    /** The component's key in {@link Fields#of} instead of its name in snake_case. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.RECORD_COMPONENT)
    public @interface Key {
        String value();
    }

    /** The component is left out of {@link Fields#of}. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.RECORD_COMPONENT)
    public @interface Skip {}

    /**
     * The components of {@code r} as a new, mutable map in declaration order (see the class comment).
     *
     * @throws IllegalArgumentException when two components end up with the same key, or a {@link Key} is blank
     */
    public static LinkedHashMap<String, Object> of(Record r) {
        Class<?> type = r.getClass();
        LinkedHashMap<String, Object> m = new LinkedHashMap<>();
        for (RecordComponent c : type.getRecordComponents()) {
            Key key = c.getAnnotation(Key.class);
            if (c.isAnnotationPresent(Skip.class)) {
                if (key != null) throw conflict(type, c, "has both @Fields.Key and @Fields.Skip; keep one");
                continue;
            }
            String k = key == null ? snakeCase(c.getName()) : key.value();
            if (k.isBlank()) throw conflict(type, c, "has a blank @Fields.Key; give it a key or use @Fields.Skip");
            if (m.containsKey(k)) {
                throw conflict(
                        type,
                        c,
                        "maps to the key '" + k + "' that an earlier component has; give one of "
                                + "them another @Fields.Key");
            }
            m.put(k, convert(read(r, c.getAccessor())));
        }
        return m;
    }

    /**
     * {@code camelCase} as {@code snake_case}: an underscore before each upper-case letter that ends a lower-case or
     * digit run, or that starts a word after an acronym ({@code peftURLPath -> peft_url_path}); digits stay attached
     * ({@code sourceSha256 -> source_sha256}).
     */
    public static String snakeCase(String name) {
        StringBuilder sb = new StringBuilder(name.length() + 8);
        for (int i = 0; i < name.length(); i++) {
            char ch = name.charAt(i);
            if (Character.isUpperCase(ch)) {
                if (i > 0) {
                    char prev = name.charAt(i - 1);
                    boolean wordEnds = Character.isLowerCase(prev) || Character.isDigit(prev);
                    boolean acronymEnds = Character.isUpperCase(prev)
                            && i + 1 < name.length()
                            && Character.isLowerCase(name.charAt(i + 1));
                    if (wordEnds || acronymEnds) sb.append('_');
                }
                sb.append(Character.toLowerCase(ch));
            } else {
                sb.append(ch);
            }
        }
        return sb.toString();
    }

    /** Records to maps, element-wise through collections (as lists) and map values; anything else as it is. */
    private static Object convert(Object v) {
        if (v instanceof Record r) return of(r);
        if (v instanceof Collection<?> c) {
            List<Object> out = new ArrayList<>(c.size());
            for (Object x : c) out.add(convert(x));
            return out;
        }
        if (v instanceof Map<?, ?> map) {
            Map<Object, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : map.entrySet()) out.put(e.getKey(), convert(e.getValue()));
            return out;
        }
        return v;
    }

    private static Object read(Record r, Method accessor) {
        try {
            // a record declared private or package-private has accessors this package may not call as they are
            if (!accessor.canAccess(r)) accessor.setAccessible(true);
            return accessor.invoke(r);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot read " + r.getClass().getName() + "." + accessor.getName(), e);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(r.getClass().getName() + "." + accessor.getName() + "()", e.getCause());
        }
    }

    private static IllegalArgumentException conflict(Class<?> type, RecordComponent c, String what) {
        return new IllegalArgumentException("record " + type.getName() + ": component '" + c.getName() + "' " + what);
    }
}
