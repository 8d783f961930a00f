package io.lakelora.kernel.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real bindings ({@link BytedecoCudaApi}, JavaCPP's CUDA 13.1 presets) against gcc-built fake CUDA libraries
 * ({@code src/test/c/fakecuda}): built here into a temporary folder, each with its soname's symbol version node, then
 * {@link FakeLibsCheck} runs in a child JVM with {@code -Dorg.bytedeco.javacpp.platform.preloadpath} on that folder
 * and a fresh {@code -Dorg.bytedeco.javacpp.cachedir} (JavaCPP caches where it found a library). Needs gcc, as every
 * machine that builds this project does.
 */
class BytedecoCudaApiTest {
    /** Fake source -> library name, for the CUDA major version of the bindings on the class path (13, or 12). */
    static String[][] libs() {
        List<String> n = CudaLibraries.forBindings(); // libcuda, libcudart, libcublasLt, libcublas, libnvrtc
        return new String[][] {
            {"cuda", n.get(0)}, {"cudart", n.get(1)}, {"cublaslt", n.get(2)}, {"cublas", n.get(3)}, {"nvrtc", n.get(4)}
        };
    }

    @TempDir
    Path tmp;

    static Path sources() {
        Path root = Path.of(System.getProperty("lakelora.root", ".."));
        Path p = root.resolve("pipeline/src/test/c/fakecuda");
        if (!Files.isDirectory(p)) p = Path.of("src/test/c/fakecuda");
        return p.toAbsolutePath();
    }

    /** Builds the fake libraries into {@code dir}. */
    static void buildFakeLibs(Path dir) throws Exception {
        Path src = sources();
        assertTrue(Files.isDirectory(src), "no fake CUDA sources at " + src);
        String map = Files.readString(src.resolve("lib.map.in"));
        for (String[] lib : libs()) {
            Path m = dir.resolve(lib[1] + ".map");
            Files.writeString(m, map.replace("SONAME", lib[1]));
            run(
                    dir,
                    List.of(
                            "gcc",
                            "-O1",
                            "-ffp-contract=off",
                            "-fPIC",
                            "-shared",
                            "-Wall",
                            "-Werror",
                            "-Wl,-soname," + lib[1],
                            "-Wl,--version-script," + m,
                            "-o",
                            dir.resolve(lib[1]).toString(),
                            src.resolve(lib[0] + ".c").toString()),
                    60);
        }
    }

    static String run(Path dir, List<String> cmd, int seconds) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(cmd)
                    .directory(dir.toFile())
                    .redirectErrorStream(true)
                    .start();
        } catch (IOException e) {
            throw new AssertionError(
                    "cannot run " + cmd.get(0) + " (" + e.getMessage() + "). Fix: install it "
                            + "(Debian: apt-get install -y gcc); the fake CUDA libraries are built with it",
                    e);
        }
        boolean done = p.waitFor(seconds, TimeUnit.SECONDS);
        if (!done) p.destroyForcibly();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(done, String.join(" ", cmd) + " did not finish in " + seconds + " s:\n" + out);
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + " failed:\n" + out);
        return out;
    }

    @Test
    void realBindingsRunAgainstFakeCudaLibraries() throws Exception {
        Path lib = Files.createDirectories(tmp.resolve("lib"));
        long t0 = System.nanoTime();
        buildFakeLibs(lib);
        double build = (System.nanoTime() - t0) / 1e9;
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("-Dorg.bytedeco.javacpp.platform.preloadpath=" + lib);
        cmd.add("-Dorg.bytedeco.javacpp.cachedir=" + tmp.resolve("javacpp"));
        cmd.add(FakeLibsCheck.class.getName());
        cmd.add(tmp.resolve("cubins").toString());
        t0 = System.nanoTime();
        String out = run(tmp, cmd, 120);
        System.out.printf(
                "fake libraries built in %.1f s, check ran in %.1f s%n%s", build, (System.nanoTime() - t0) / 1e9, out);
        assertTrue(out.contains("fake-cuda check: OK"), out);
        assertTrue(out.contains("ok launch (long long, float) args: the Java dropout mask"), out);
    }
}
