package io.lakelora.kernel.cuda;

import io.lakelora.util.Assets;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Compiled kernels on disk, keyed by source hash and SM ({@link CudaSources#cacheKey}): NVRTC runs once per source
 * version and device kind, later JVMs (Spark executors) load the cubin. The folder is
 * {@code -Dlakelora.cuda.cache}, else {@code $XDG_CACHE_HOME/lakelora/cuda} (default {@code ~/.cache/lakelora/cuda}).
 * Files are written to a temporary name and renamed, so concurrent JVMs never read half a file.
 */
public final class CubinCache {
    private final Path dir;

    public CubinCache(Path dir) {
        this.dir = dir;
    }

    /** The folder of the class doc. */
    public static Path defaultDir() {
        String p = System.getProperty("lakelora.cuda.cache");
        if (p != null && !p.isBlank()) return Path.of(p);
        return Assets.cacheDir().getParent().resolve("cuda");
    }

    public Path dir() {
        return dir;
    }

    /** The cache file of source {@code name} on {@code device}. */
    public Path file(String name, DeviceInfo device) {
        var opts = CudaSources.nvrtcOptions(device.major(), device.minor());
        return dir.resolve(CudaSources.cacheKey(name, opts, device.major(), device.minor()) + ".cubin");
    }

    /** The cubin of source {@code name} for {@code api}'s device: from the cache, or compiled and stored. */
    public byte[] cubin(CudaApi api, String name) {
        DeviceInfo d = api.device();
        Path f = file(name, d);
        try {
            if (Files.isRegularFile(f)) return Files.readAllBytes(f);
            byte[] c =
                    api.compile(CudaSources.text(name), name + ".cu", CudaSources.nvrtcOptions(d.major(), d.minor()));
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, f.getFileName().toString(), ".tmp");
            Files.write(tmp, c);
            Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return c;
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "CUDA kernel cache " + f + ". Fix: make " + dir + " writable or set -Dlakelora.cuda.cache", e);
        }
    }

    /** Forgets source {@code name}'s cubin for {@code device} (one that the driver refused to load). */
    public void evict(String name, DeviceInfo device) {
        try {
            Files.deleteIfExists(file(name, device));
        } catch (IOException e) {
            throw new UncheckedIOException("removing " + file(name, device), e);
        }
    }
}
