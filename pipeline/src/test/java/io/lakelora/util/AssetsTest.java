package io.lakelora.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The assets root: setting, environment, ../shared/assets when it exists, else the fetch-assets cache. */
class AssetsTest {

    @Test
    void resolutionOrder(@TempDir Path tmp) throws Exception {
        Path shared = Files.createDirectories(tmp.resolve("shared/assets"));
        Path missing = tmp.resolve("nowhere/assets");
        Path cache = tmp.resolve("cache/lakelora/assets");
        assertEquals(
                tmp.resolve("p"),
                Assets.locate(tmp.resolve("p").toString(), "/e", shared, cache).path());
        assertEquals(Path.of("/e"), Assets.locate(" ", "/e", shared, cache).path());
        assertEquals(shared, Assets.locate(null, null, shared, cache).path());
        Assets.Root fallback = Assets.locate(null, "", missing, cache);
        assertEquals(cache, fallback.path(), "no setting and no shared assets: the cache, even before it is filled");
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Assets.require(fallback, "models/stories260K-hf"));
        assertTrue(
                e.getMessage().contains(cache.resolve("models/stories260K-hf").toString())
                        && e.getMessage().contains("Fix: run `bin/lakelora fetch-assets`"),
                e.getMessage());
    }

    @Test
    void cacheDirFollowsXdg() {
        assertEquals(Path.of("/xdg/lakelora/assets"), Assets.cacheDir("/xdg", "/home/u"));
        assertEquals(Path.of("/home/u/.cache/lakelora/assets"), Assets.cacheDir(null, "/home/u"));
        assertEquals(
                Path.of("/home/u/.cache/lakelora/assets"),
                Assets.cacheDir("relative", "/home/u"),
                "XDG: a relative XDG_CACHE_HOME is ignored");
    }
}
