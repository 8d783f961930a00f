package io.lakelora.kernel.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Finding the CUDA libraries, and the choice (and message) when libcuda.so.1 or the toolkit libraries are absent. */
class CudaLibrariesTest {
    @TempDir
    Path tmp;

    private Path dirWith(String name, String... libs) throws Exception {
        Path d = Files.createDirectories(tmp.resolve(name));
        for (String l : libs) Files.writeString(d.resolve(l), "not really a library");
        return d;
    }

    @Test
    void searchOrderIsPreloadPathThenJavaLibraryPathThenLdLibraryPathThenLdSoConf() throws Exception {
        Path pre = dirWith("pre", "libcudart.so.13");
        Path jlp = dirWith("jlp", "libcudart.so.13", "libcublas.so.13");
        Path ld = dirWith("ld", "libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libnvrtc.so.13");
        Path conf = dirWith("confd", "libcuda.so.1");
        Path etc = Files.createDirectories(tmp.resolve("etc"));
        Files.createDirectories(etc.resolve("ld.so.conf.d"));
        Files.writeString(etc.resolve("ld.so.conf"), "# comment\ninclude ld.so.conf.d/*.conf\n");
        Files.writeString(etc.resolve("ld.so.conf.d/nvidia.conf"), conf + "\n");
        List<Path> path =
                CudaLibraries.searchPath(pre.toString(), jlp.toString(), ld + ":" + pre, etc.resolve("ld.so.conf"));
        assertEquals(List.of(pre, jlp, ld, conf), path.subList(0, 4), "duplicates kept at their first place");
        assertTrue(path.containsAll(CudaLibraries.STANDARD_DIRS));
        CudaLibraries.Probe p = CudaLibraries.probe(CudaLibraries.CUDA13, path);
        assertTrue(p.ok(), p.toString());
        assertEquals(pre.resolve("libcudart.so.13"), p.found().get("libcudart.so.13"));
        assertEquals(jlp.resolve("libcublas.so.13"), p.found().get("libcublas.so.13"));
        assertEquals(ld.resolve("libnvrtc.so.13"), p.found().get("libnvrtc.so.13"));
        assertEquals(conf.resolve("libcuda.so.1"), p.found().get("libcuda.so.1"));
        p.require();
        assertTrue(CudaLibraries.choose("auto", p).cuda());
    }

    @Test
    void withoutTheDriverLibraryAutoFallsBackAndCudaFailsWithTheFix() throws Exception {
        Path ld = dirWith("toolkit", "libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libnvrtc.so.13");
        CudaLibraries.Probe p = CudaLibraries.probe(CudaLibraries.CUDA13, List.of(ld));
        assertFalse(p.ok());
        assertEquals(List.of("libcuda.so.1"), p.missing());
        CudaLibraries.Choice c = CudaLibraries.choose("auto", p);
        assertFalse(c.cuda());
        assertEquals("CPU: libcuda.so.1 not found", c.reason());
        assertFalse(CudaLibraries.choose("vector", p).cuda());
        CudaUnavailableException e =
                assertThrows(CudaUnavailableException.class, () -> CudaLibraries.choose("cuda", p));
        assertTrue(e.getMessage().contains("libcuda.so.1 not found in [" + ld + "]"), e.getMessage());
        assertTrue(e.getMessage().contains("driver >= 580"), e.getMessage());
        assertTrue(e.getMessage().contains("-Pcuda12"), e.getMessage());
        assertFalse(e.getMessage().contains("cu13/lib"), "the toolkit libraries were found: " + e.getMessage());
    }

    @Test
    void theLibraryVersionFollowsTheBindingsBuild() {
        assertEquals(13, CudaLibraries.cudaMajor("13.1-9.19-1.5.13"));
        assertEquals(12, CudaLibraries.cudaMajor("12.9-9.10-1.5.12"));
        assertThrows(IllegalArgumentException.class, () -> CudaLibraries.cudaMajor("x"));
        String v = CudaLibraries.bindingsVersion();
        assertTrue(v != null && v.matches("1[23]\\.\\d+-.*"), "the bindings' pom.properties: " + v);
        assertEquals(
                CudaLibraries.cudaMajor(v) == 12 ? CudaLibraries.CUDA12 : CudaLibraries.CUDA13,
                CudaLibraries.forBindings());
    }

    @Test
    void nvrtcBuiltinsAreFoundBesideNvrtc() throws Exception {
        Path d = dirWith(
                "cu13",
                "libnvrtc.so.13",
                "libnvrtc-builtins.so.13.0",
                "libnvrtc-builtins.so.13.1",
                "libnvrtc-builtins.alt.so.13.1",
                "libnvrtc-builtins.so.12.9",
                "libcublas.so.13");
        assertEquals(d.resolve("libnvrtc-builtins.so.13.1"), CudaLibraries.nvrtcBuiltins(d.resolve("libnvrtc.so.13")));
        assertEquals(null, CudaLibraries.nvrtcBuiltins(d.resolve("libcublas.so.13")));
        Path bare = dirWith("bare", "libnvrtc.so.13");
        assertEquals(null, CudaLibraries.nvrtcBuiltins(bare.resolve("libnvrtc.so.13")));
    }

    @Test
    void missingToolkitLibrariesNameTheSettings() throws Exception {
        Path drv = dirWith("driver", "libcuda.so.1");
        CudaLibraries.Probe p = CudaLibraries.probe(CudaLibraries.CUDA13, List.of(drv));
        assertEquals(List.of("libcudart.so.13", "libcublasLt.so.13", "libcublas.so.13", "libnvrtc.so.13"), p.missing());
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class, p::require);
        assertTrue(e.getMessage().contains("LD_LIBRARY_PATH or -Dorg.bytedeco.javacpp.platform.preloadpath"));
        assertFalse(e.getMessage().contains("driver >= 580"), e.getMessage());
    }
}
