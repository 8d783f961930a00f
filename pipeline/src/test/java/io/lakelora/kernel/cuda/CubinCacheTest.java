package io.lakelora.kernel.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Compiled kernels are cached by source hash and SM: a second JVM (here, a second API) compiles nothing. */
class CubinCacheTest {
    @TempDir
    Path dir;

    static List<String> files() {
        return CudaSources.names().stream().map(n -> n + ".cu").toList();
    }

    @Test
    void compilesOncePerSourceAndSm() throws Exception {
        CubinCache cache = new CubinCache(dir);
        FakeCudaApi first = new FakeCudaApi(1 << 20);
        CudaModules.load(first, cache);
        assertEquals(files(), first.compiledSources(), "every source compiled once");
        try (var files = Files.list(dir)) {
            assertEquals(
                    CudaSources.names().size(),
                    files.filter(f -> f.toString().endsWith("-sm90.cubin")).count());
        }
        FakeCudaApi second = new FakeCudaApi(1 << 20);
        CudaModules m = CudaModules.load(second, cache);
        assertEquals(List.of(), second.compiledSources(), "all from the cache");
        assertTrue(m.function(CudaKernel.ROPE) > 0);
        // another SM: its own cubins
        FakeCudaApi ampere = new FakeCudaApi(new DeviceInfo(0, "fake sm80", 8, 0, 1 << 20, 108));
        CudaModules.load(ampere, cache);
        assertEquals(files(), ampere.compiledSources());
        assertNotEquals(cache.file("rope", first.device()), cache.file("rope", ampere.device()));
    }

    @Test
    void aCubinTheDriverRefusesIsCompiledAgain() throws Exception {
        CubinCache cache = new CubinCache(dir);
        FakeCudaApi api = new FakeCudaApi(1 << 20);
        CudaModules.load(api, cache);
        Files.write(cache.file("softmax", api.device()), new byte[] {1, 2, 3}); // truncated by a crash, say
        FakeCudaApi again = new FakeCudaApi(1 << 20);
        CudaModules.load(again, cache);
        assertEquals(List.of("softmax.cu"), again.compiledSources());
        assertTrue(new String(Files.readAllBytes(cache.file("softmax", api.device())))
                .contains("lakelora_window_softmax"));
    }

    @Test
    void unknownFunctionsAndClosedApisFailClearly() {
        FakeCudaApi api = new FakeCudaApi(1 << 20);
        long module = api.loadModule(api.compile(CudaSources.text("rope"), "rope.cu", List.of()));
        CudaException e = assertThrows(CudaException.class, () -> api.function(module, "lakelora_swiglu_forward"));
        assertTrue(e.getMessage().contains("CUDA_ERROR_NOT_FOUND"), e.getMessage());
        api.close();
        assertThrows(IllegalStateException.class, () -> api.malloc(16));
    }
}
