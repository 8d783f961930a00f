package io.lakelora.assets;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The demo assets {@code bin/lakelora fetch-assets} provides: files downloaded from their public sources (each with its
 * path under the assets directory, URL, SHA-256 and size) and conversions that build derived files from them (the
 * llama2.c stories260K into the Hugging Face layout), with the hashes their outputs must have. Paths mirror
 * {@code ../shared/assets}, so a filled cache directory can stand in for it. Read from the resource
 * {@value #RESOURCE}; unknown keys are errors.
 */
public record AssetManifest(String about, List<FileEntry> files, List<Conversion> conversions) {
    public static final String RESOURCE = "/io/lakelora/assets-manifest.json";

    /** One downloaded file: {@code name} is the key of URL overrides ({@code lakelora.assets.url.NAME}). */
    public record FileEntry(String name, String path, String url, long size, String sha256, String license) {}

    /** One output file of a conversion, relative to the conversion's {@code dir}. */
    public record Output(String path, String sha256, long size) {}

    /**
     * A conversion of downloaded files into {@code dir}. {@code kind} "llama2c-to-hf": {@code checkpoint} (llama2.c
     * v0) and {@code tokenizer} (llama2.c tokenizer .bin) into config.json, model.safetensors (with {@code metadata}),
     * tokenizer.json, tokenizer_config.json and generation_config.json.
     */
    public record Conversion(
            String name,
            String kind,
            String checkpoint,
            String tokenizer,
            String dir,
            Map<String, String> metadata,
            List<Output> outputs) {}

    /** The manifest shipped with LakeLoRA. */
    public static AssetManifest load() {
        try (InputStream in = AssetManifest.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IllegalStateException("resource " + RESOURCE + " is missing from the classpath");
            AssetManifest m = new ObjectMapper()
                    .enable(
                            DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES,
                            DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES,
                            DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES)
                    .readValue(in, AssetManifest.class);
            m.validate();
            return m;
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + RESOURCE, e);
        }
    }

    /** The file entry called {@code name}; fails naming the known names. */
    public FileEntry file(String name) {
        for (FileEntry f : files) if (f.name.equals(name)) return f;
        throw new IllegalArgumentException("no asset called '" + name + "'. Fix: use one of " + names());
    }

    /** The names of the downloaded files, in manifest order. */
    public List<String> names() {
        return files.stream().map(FileEntry::name).toList();
    }

    void validate() {
        Set<String> names = new HashSet<>(), paths = new HashSet<>();
        for (FileEntry f : files) {
            require(
                    f.name != null && f.name.matches("[A-Za-z0-9_.-]+"),
                    "file name '" + f.name + "'",
                    "letters, digits, '_', '.', '-'");
            require(names.add(f.name), "file name '" + f.name + "'", "unique names");
            checkPath(f.path);
            require(paths.add(f.path), "path '" + f.path + "'", "unique paths");
            require(f.url != null && f.url.matches("https?://[^/]+/.+"), "url of '" + f.name + "'", "an http(s) URL");
            checkSha(f.sha256, f.name);
            require(f.size > 0, "size of '" + f.name + "'", "a positive byte count");
        }
        for (Conversion c : conversions) {
            require(
                    "llama2c-to-hf".equals(c.kind),
                    "conversion '" + c.name + "' kind '" + c.kind + "'",
                    "llama2c-to-hf");
            require(
                    paths.contains(c.checkpoint) && paths.contains(c.tokenizer),
                    "conversion '" + c.name + "' inputs",
                    "paths of downloaded files");
            checkPath(c.dir);
            for (Output o : c.outputs) {
                checkPath(o.path);
                checkSha(o.sha256, c.name + "/" + o.path);
                require(paths.add(c.dir + "/" + o.path), "output '" + o.path + "'", "a path no other entry has");
            }
        }
    }

    private static void checkPath(String p) {
        require(
                p != null
                        && !p.isBlank()
                        && !Path.of(p).isAbsolute()
                        && !p.contains("\\")
                        && Path.of(p).normalize().toString().equals(p)
                        && !p.startsWith(".."),
                "path '" + p + "'",
                "a normalized relative path inside the assets directory");
    }

    private static void checkSha(String sha, String what) {
        require(sha != null && sha.matches("[0-9a-f]{64}"), "sha256 of '" + what + "'", "64 lowercase hex digits");
    }

    private static void require(boolean ok, String what, String expected) {
        if (!ok) {
            throw new IllegalStateException("asset manifest " + RESOURCE + ": " + what + " is invalid, expected "
                    + expected + ". Fix: correct the manifest (it ships with LakeLoRA)");
        }
    }
}
