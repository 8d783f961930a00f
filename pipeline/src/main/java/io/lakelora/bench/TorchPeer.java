package io.lakelora.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * The PyTorch peer scripts of the benchmarks ({@code bench/torch_mm.py}, {@code bench/torch_lora_step.py}), written
 * with {@code bench/blas_probe.py} beside them into a fresh directory: the probe tells which BLAS torch really runs on
 * (vendor, version, kernel) and makes the script refuse to measure on the reference BLAS, with the fix.
 */
public final class TorchPeer implements AutoCloseable {
    /** The probe every peer script imports. */
    public static final String PROBE = "blas_probe.py";

    private final Path dir;
    private final Path script;

    private TorchPeer(Path dir, Path script) {
        this.dir = dir;
        this.script = script;
    }

    /** Writes resource {@code /bench/<name>} and the probe into a new temporary directory. */
    public static TorchPeer extract(String name) {
        try {
            Path dir = Files.createTempDirectory("lakelora-bench-peer");
            for (String f : new String[] {name, PROBE}) {
                try (InputStream in = TorchPeer.class.getResourceAsStream("/bench/" + f)) {
                    if (in == null) throw new IllegalStateException("resource /bench/" + f + " missing from the build");
                    Files.write(dir.resolve(f), in.readAllBytes());
                }
            }
            return new TorchPeer(dir, dir.resolve(name));
        } catch (IOException e) {
            throw new UncheckedIOException("writing the PyTorch peer script " + name, e);
        }
    }

    /** The script to run with python. */
    public Path script() {
        return script;
    }

    @Override
    public void close() {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary directory left behind
        }
    }
}
