package io.lakelora.kernel.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compiles every kernel source, exactly as NVRTC will see it ({@link CudaSources#text}), with
 * {@code nvcc -cubin -arch=sm_90} in one invocation, with all warnings as errors; checks that nvcc printed no error or
 * warning and that each cubin is an ELF file holding its kernels' unmangled names. Where no nvcc exists (no CUDA
 * toolkit), the test is skipped by assumption, the one allowed skip (CI machines of this project have
 * {@code /usr/local/cuda-13.0/bin/nvcc}).
 */
class CudaCompileTest {

    /** nvcc from {@code LAKELORA_NVCC}, the PATH or {@code /usr/local/cuda*}{@code /bin}, or null. */
    static Path findNvcc() {
        String env = System.getenv("LAKELORA_NVCC");
        if (env != null && !env.isBlank()) return Path.of(env);
        List<Path> candidates = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) for (String d : path.split(":")) if (!d.isEmpty()) candidates.add(Path.of(d, "nvcc"));
        candidates.add(Path.of("/usr/local/cuda/bin/nvcc"));
        try (var dirs = Files.list(Path.of("/usr/local"))) {
            dirs.filter(d -> d.getFileName().toString().startsWith("cuda-"))
                    .sorted()
                    .forEach(d -> candidates.add(d.resolve("bin/nvcc")));
        } catch (IOException e) {
            // no /usr/local: nothing to add
        }
        for (Path p : candidates) if (Files.isExecutable(p)) return p;
        return null;
    }

    @Test
    void everySourceCompilesToAnSm90CubinWithoutWarnings(@TempDir Path dir) throws Exception {
        Path nvcc = findNvcc();
        Assumptions.assumeTrue(
                nvcc != null,
                "no nvcc (LAKELORA_NVCC, PATH, /usr/local/cuda*/bin): the CUDA kernel compile check needs the CUDA "
                        + "toolkit; skipped");
        List<String> cmd = new ArrayList<>(List.of(
                nvcc.toString(),
                "-cubin",
                "-arch=sm_90",
                "-std=c++17",
                "--Werror",
                "all-warnings",
                "-Xptxas",
                "-warn-spills"));
        for (String name : CudaSources.names()) {
            Path src = dir.resolve(name + ".cu");
            Files.writeString(src, CudaSources.text(name));
            cmd.add(src.getFileName().toString());
        }
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .start();
        boolean done = p.waitFor(180, TimeUnit.SECONDS);
        if (!done) p.destroyForcibly();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        System.out.printf(
                "nvcc: %d sources in %.1f s%n%s", CudaSources.names().size(), (System.nanoTime() - t0) / 1e9, out);
        assertTrue(done, "nvcc did not finish in 180 s");
        assertEquals(0, p.exitValue(), "nvcc failed:\n" + out);
        String lower = out.toLowerCase(Locale.ROOT);
        assertFalse(lower.contains("error") || lower.contains("warning"), "nvcc printed:\n" + out);
        for (String name : CudaSources.names()) {
            Path cubin = dir.resolve(name + ".cubin");
            assertTrue(Files.isRegularFile(cubin), "no " + cubin);
            byte[] b = Files.readAllBytes(cubin);
            assertArrayEquals(new byte[] {0x7f, 'E', 'L', 'F'}, Arrays.copyOf(b, 4), name + ".cubin is not ELF");
            String image = new String(b, StandardCharsets.ISO_8859_1);
            for (CudaKernel k : CudaSources.kernelsOf(name)) {
                assertTrue(image.contains(k.symbol() + "\0"), name + ".cubin lacks the symbol " + k.symbol());
            }
        }
    }
}
