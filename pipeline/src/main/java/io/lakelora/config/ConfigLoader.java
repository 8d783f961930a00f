package io.lakelora.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Layered YAML configuration: each file may name the files it builds on with {@code extends: a.yaml} or
 * {@code extends: [base.yaml, env/local.yaml]} (paths relative to that file); later layers override earlier ones key by
 * key (maps merge, lists and scalars replace); then {@code key.sub=value} overrides from the command line, each value
 * parsed as YAML. The merged tree is bound to a typed class with Jackson: unknown keys and wrong types are errors that
 * name the key and the fix. Config files are data, never code.
 */
public final class ConfigLoader {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper BINDER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .build();
    private static final ObjectMapper JSON = new ObjectMapper();

    private ConfigLoader() {}

    /**
     * Where config files are read from: local files by default; the Spark jobs plug in the Hadoop FileSystem so that
     * {@code --config s3a://.../03_train.yaml}, {@code dbfs:/...} and {@code /Volumes/...} work.
     */
    public interface Source {
        /** The file's bytes; {@code null} when there is no such file. */
        byte[] read(String location) throws IOException;

        /** {@code relative} (an {@code extends} entry) against the location of the file that names it. */
        String resolve(String containingFile, String relative);

        /** The canonical form of a location given on the command line (relative local paths made absolute). */
        default String canonical(String location) {
            return location;
        }
    }

    /** Local files through java.nio. */
    public static final Source LOCAL = new Source() {
        @Override
        public byte[] read(String location) throws IOException {
            Path p = Path.of(location);
            return Files.isRegularFile(p) ? Files.readAllBytes(p) : null;
        }

        @Override
        public String resolve(String containingFile, String relative) {
            Path parent = Path.of(containingFile).getParent();
            return (parent == null ? Path.of(relative) : parent.resolve(relative))
                    .normalize()
                    .toString();
        }

        @Override
        public String canonical(String location) {
            return Path.of(location).toAbsolutePath().normalize().toString();
        }
    };

    /** Merge the files (in order, each with its {@code extends} chain) and the overrides into one tree. */
    public static ObjectNode resolveTree(List<Path> files, List<String> overrides) {
        return resolveTree(files.stream().map(Path::toString).toList(), overrides, LOCAL);
    }

    /** {@link #resolveTree(List, List)} over config locations read through {@code source}. */
    public static ObjectNode resolveTree(List<String> locations, List<String> overrides, Source source) {
        ObjectNode root = JSON.createObjectNode();
        for (String f : locations) merge(root, readWithExtends(source, source.canonical(f), new LinkedHashSet<>()));
        for (String o : overrides) applyOverride(root, o);
        return root;
    }

    /** Resolve and bind to {@code type}; errors name the offending key. */
    public static <T> T load(List<Path> files, List<String> overrides, Class<T> type) {
        return bind(resolveTree(files, overrides), type, files.toString());
    }

    public static <T> T bind(JsonNode tree, Class<T> type, String source) {
        try {
            return BINDER.treeToValue(tree, type);
        } catch (UnrecognizedPropertyException e) {
            throw new IllegalArgumentException(
                    "config " + source + ": unknown key '" + path(e) + "'. Known keys here: " + e.getKnownPropertyIds()
                            + ". Fix: correct the spelling or remove the key",
                    e);
        } catch (InvalidFormatException e) {
            throw new IllegalArgumentException(
                    "config " + source + ": key '" + path(e) + "' has value '" + e.getValue() + "', expected "
                            + e.getTargetType().getSimpleName() + ". Fix: give a value of that type",
                    e);
        } catch (MismatchedInputException e) {
            throw new IllegalArgumentException(
                    "config " + source + ": key '" + path(e) + "' has the wrong type, expected "
                            + (e.getTargetType() == null
                                    ? "another type"
                                    : e.getTargetType().getSimpleName())
                            + ". Fix: give a value of that type",
                    e);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("config " + source + ": " + e.getOriginalMessage(), e);
        }
    }

    /** The resolved config as JSON text (logged at start and stored with each adapter version). */
    public static String toJson(Object config) {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String path(MismatchedInputException e) {
        StringBuilder sb = new StringBuilder();
        e.getPath().forEach(r -> {
            if (r.getFieldName() != null) {
                if (sb.length() > 0) sb.append('.');
                sb.append(r.getFieldName());
            } else {
                sb.append('[').append(r.getIndex()).append(']');
            }
        });
        return sb.toString();
    }

    private static ObjectNode readWithExtends(Source source, String file, Set<String> seen) {
        if (!seen.add(file))
            throw new IllegalArgumentException("config " + file + ": 'extends' forms a cycle: " + seen);
        byte[] bytes;
        try {
            bytes = source.read(file);
        } catch (IOException e) {
            throw new UncheckedIOException("reading config " + file + ": " + e.getMessage(), e);
        }
        if (bytes == null) {
            throw new IllegalArgumentException("config file not found: " + file + ". Fix: pass an existing YAML file "
                    + "(a local path, relative to the working directory, or a URI such as s3a://bucket/conf/x.yaml)");
        }
        JsonNode node;
        try {
            node = YAML.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("config " + file + ": not valid YAML: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("reading config " + file, e);
        }
        if (node == null || node.isMissingNode() || node.isNull()) return JSON.createObjectNode();
        if (!node.isObject()) {
            throw new IllegalArgumentException("config " + file + ": expected a mapping of keys at the top level");
        }
        ObjectNode obj = (ObjectNode) node;
        ObjectNode out = JSON.createObjectNode();
        JsonNode ext = obj.remove("extends");
        if (ext != null) {
            List<String> parents = new ArrayList<>();
            if (ext.isTextual()) parents.add(ext.asText());
            else if (ext.isArray()) ext.forEach(x -> parents.add(x.asText()));
            else throw new IllegalArgumentException("config " + file + ": 'extends' must be a file name or a list");
            for (String p : parents) {
                merge(out, readWithExtends(source, source.resolve(file, p), new LinkedHashSet<>(seen)));
            }
        }
        merge(out, obj);
        return out;
    }

    /** Deep merge: maps merge key by key, everything else replaces. */
    public static void merge(ObjectNode into, JsonNode from) {
        Iterator<Map.Entry<String, JsonNode>> it = from.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode cur = into.get(e.getKey());
            if (cur != null && cur.isObject() && e.getValue().isObject()) {
                merge((ObjectNode) cur, e.getValue());
            } else {
                into.set(e.getKey(), e.getValue().deepCopy());
            }
        }
    }

    /** Applies one {@code key.sub=value} override (the value parsed as YAML) to {@code root}. */
    public static void applyOverride(ObjectNode root, String override) {
        int eq = override.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("override '" + override + "': expected key=value, e.g. lora.r=16");
        }
        String key = override.substring(0, eq).trim();
        String raw = override.substring(eq + 1);
        JsonNode value;
        try {
            value = raw.isEmpty() ? JSON.getNodeFactory().textNode("") : YAML.readTree(raw);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("override '" + override + "': value is not valid YAML", e);
        }
        if (value == null || value.isMissingNode())
            value = JSON.getNodeFactory().textNode(raw);
        String[] parts = key.split("\\.");
        ObjectNode cur = root;
        for (int i = 0; i < parts.length - 1; i++) {
            JsonNode next = cur.get(parts[i]);
            if (next == null || !next.isObject()) {
                ObjectNode n = JSON.createObjectNode();
                cur.set(parts[i], n);
                cur = n;
            } else {
                cur = (ObjectNode) next;
            }
        }
        cur.set(parts[parts.length - 1], value);
    }
}
