package io.lakelora.util;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the assets directory (models, tokenizers, corpora). Order: system property {@code lakelora.assets},
 * environment variable {@code LAKELORA_ASSETS}, {@code ../shared/assets} relative to the working directory when it
 * exists, else the user cache that {@code bin/lakelora fetch-assets} fills ({@link #cacheDir()}: the demo model and
 * corpora). Users point the same setting at their own files.
 */
public final class Assets {
    private Assets() {}

    /** The shared assets, relative to the working directory (the repository root for bin/lakelora). */
    public static final String SHARED = "../shared/assets";

    /** The assets root and the setting it came from (for messages). */
    record Root(Path path, String from) {}

    public static Path root() {
        return locate().path();
    }

    static Root locate() {
        return locate(
                System.getProperty("lakelora.assets"), System.getenv("LAKELORA_ASSETS"), Path.of(SHARED), cacheDir());
    }

    /** The resolution order of the class doc, with its inputs explicit. */
    static Root locate(String property, String env, Path shared, Path cache) {
        if (property != null && !property.isBlank()) return new Root(abs(Path.of(property)), "-Dlakelora.assets");
        if (env != null && !env.isBlank()) return new Root(abs(Path.of(env)), "LAKELORA_ASSETS");
        if (Files.isDirectory(shared)) return new Root(abs(shared), SHARED);
        return new Root(abs(cache), "the fetch-assets cache, as " + SHARED + " does not exist");
    }

    /**
     * Where {@code bin/lakelora fetch-assets} puts the demo assets: {@code $XDG_CACHE_HOME/lakelora/assets} when
     * XDG_CACHE_HOME is an absolute path (XDG base directory spec), else {@code ~/.cache/lakelora/assets}.
     */
    public static Path cacheDir() {
        return cacheDir(System.getenv("XDG_CACHE_HOME"), System.getProperty("user.home"));
    }

    static Path cacheDir(String xdgCacheHome, String home) {
        Path base = xdgCacheHome != null
                        && !xdgCacheHome.isBlank()
                        && Path.of(xdgCacheHome).isAbsolute()
                ? Path.of(xdgCacheHome)
                : Path.of(home, ".cache");
        return abs(base.resolve("lakelora").resolve("assets"));
    }

    /**
     * A file or directory under the assets root; fails (never skips) when it is missing, with an
     * {@link IllegalArgumentException} (a setup problem: exit code 2 on the command line) that says how to fill it.
     */
    public static Path require(String relative) {
        return require(locate(), relative);
    }

    static Path require(Root root, String relative) {
        Path f = root.path().resolve(relative);
        if (!Files.exists(f)) {
            throw new IllegalArgumentException("asset not found: " + f + " (assets root " + root.path() + ", from "
                    + root.from() + "). Fix: run `bin/lakelora fetch-assets` to download the demo model and corpora "
                    + "into " + cacheDir() + ", or set -Dlakelora.assets=DIR or LAKELORA_ASSETS=DIR to an assets "
                    + "directory that has " + relative);
        }
        return f;
    }

    private static Path abs(Path p) {
        return p.toAbsolutePath().normalize();
    }
}
