package io.lakelora.util;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the shared assets directory (models, tokenizers, corpora). Order: system property {@code lakelora.assets},
 * environment variable {@code LAKELORA_ASSETS}, then {@code ../shared/assets} relative to the working directory.
 * Users point the same setting at their own files.
 */
public final class Assets {
    private Assets() {}

    public static Path root() {
        String p = System.getProperty("lakelora.assets");
        if (p == null || p.isBlank()) p = System.getenv("LAKELORA_ASSETS");
        if (p == null || p.isBlank()) p = "../shared/assets";
        return Path.of(p).toAbsolutePath().normalize();
    }

    /** A file or directory under the assets root; fails (never skips) when it is missing. */
    public static Path require(String relative) {
        Path f = root().resolve(relative);
        if (!Files.exists(f)) {
            throw new IllegalStateException("asset not found: " + f + " (assets root " + root()
                    + "). Fix: set -Dlakelora.assets=DIR or LAKELORA_ASSETS=DIR to the shared assets directory");
        }
        return f;
    }
}
