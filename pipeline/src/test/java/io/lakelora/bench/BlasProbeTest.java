package io.lakelora.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * bench/blas_probe.py, which the PyTorch peers of bench-train and bench-gemm run before measuring, on the two BLAS
 * libraries Debian's python3-torch can load through libblas.so.3: Netlib's reference BLAS (libblas3) is named and
 * refused with the fix, OpenBLAS (libopenblas0-pthread) is accepted and reported with its version and kernel.
 */
class BlasProbeTest {
    static final ObjectMapper JSON = new ObjectMapper();

    /** The Debian library {@code /usr/lib/<multiarch>/<dir>/libblas.so.3}; a clear failure when not installed. */
    static Path debianBlas(String dir, String pkg) throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/usr/lib"))) {
            List<Path> found = s.map(p -> p.resolve(dir).resolve("libblas.so.3"))
                    .filter(Files::exists)
                    .toList();
            assertTrue(
                    !found.isEmpty(),
                    "/usr/lib/*/" + dir + "/libblas.so.3 not found. Fix: apt-get install " + pkg
                            + " (.ci/run installs libblas3 and libopenblas0-pthread)");
            return found.get(0);
        }
    }

    record Run(int exit, JsonNode out) {}

    static Run probe(Path lib) throws Exception {
        return probe(lib, null);
    }

    /** The probe on {@code lib}; {@code coreType}: OpenBLAS's OPENBLAS_CORETYPE (null: its own choice). */
    static Run probe(Path lib, String coreType) throws Exception {
        try (TorchPeer peer = TorchPeer.extract("torch_mm.py")) {
            Path probe = peer.script().resolveSibling(TorchPeer.PROBE);
            assertTrue(Files.exists(probe), "the probe is written beside the peer script");
            ProcessBuilder pb = new ProcessBuilder("python3", probe.toString(), "--load", lib.toString(), "--check")
                    .redirectError(ProcessBuilder.Redirect.INHERIT);
            if (coreType != null) pb.environment().put("OPENBLAS_CORETYPE", coreType);
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return new Run(p.waitFor(), JSON.readTree(out));
        }
    }

    @Test
    void theReferenceBlasIsNamedAndRefusedWithTheFix() throws Exception {
        Run r = probe(debianBlas("blas", "libblas3"));
        assertEquals(4, r.exit(), r.out().toString());
        JsonNode lib = r.out().get("blas").get(0);
        assertEquals("reference", lib.get("vendor").asText(), r.out().toString());
        String why = r.out().get("refused").asText();
        assertTrue(why.contains(lib.get("path").asText()) && why.contains("reference BLAS"), why);
        assertTrue(why.contains("Fix: apt-get install libopenblas0-pthread"), why);
    }

    @Test
    void openBlasIsAcceptedAndReportedWithItsVersionAndKernel() throws Exception {
        Run r = probe(debianBlas("openblas-pthread", "libopenblas0-pthread"));
        assertEquals(0, r.exit(), r.out().toString());
        assertTrue(r.out().get("refused").isNull(), r.out().toString());
        JsonNode lib = r.out().get("blas").get(0);
        assertEquals("openblas", lib.get("vendor").asText(), r.out().toString());
        assertTrue(lib.get("version").asText().startsWith("OpenBLAS 0."), lib.toString());
        String kernel = lib.get("kernel").asText();
        assertTrue(!kernel.isBlank() && lib.get("version").asText().contains(kernel), lib.toString());
        String line = r.out().get("blas_description").asText();
        assertTrue(line.startsWith("openblas OpenBLAS 0.") && line.contains("kernel " + kernel), line);
    }

    @Test
    void anAvx2KernelOnAnAvx512CpuIsPointedOut() throws Exception {
        boolean avx512 = Files.readString(Path.of("/proc/cpuinfo")).contains(" avx512f");
        Path lib = debianBlas("openblas-pthread", "libopenblas0-pthread");
        String haswell = probe(lib, "Haswell").out().get("blas_description").asText();
        assertTrue(haswell.contains("kernel Haswell"), haswell);
        assertEquals(avx512, haswell.contains("OPENBLAS_CORETYPE=SkylakeX selects its AVX-512 kernel"), haswell);
        if (avx512) {
            String skx = probe(lib, "SkylakeX").out().get("blas_description").asText();
            assertTrue(skx.contains("kernel SkylakeX") && !skx.contains("note:"), skx);
        }
    }
}
