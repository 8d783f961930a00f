package io.lakelora.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.ExitCodes;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code lakelora bench-gemm}: shape parsing, and a tiny run whose PyTorch peer cannot start (ours still printed). */
class BenchGemmCommandTest {

    @Test
    void parsesShapes() {
        assertArrayEquals(new int[] {1024, 2048, 5632}, BenchGemmCommand.parseShape("1024x2048x5632"));
        assertArrayEquals(new int[] {3, 5, 7}, BenchGemmCommand.parseShape(" 3X5x7 "));
        for (String bad : new String[] {"10x0x3", "1024x1024", "axbxc"}) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> BenchGemmCommand.parseShape(bad));
            assertTrue(e.getMessage().contains("'" + bad + "' is not MxNxK"), e.getMessage());
        }
    }

    @Test
    void missingTorchIsReportedAndOurFiguresStillPrinted() throws Exception {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            code = Cli.run(
                    new String[] {
                        "bench-gemm",
                        "--shapes",
                        "16x40x24",
                        "--threads",
                        "1,2",
                        "--reps",
                        "1",
                        "--warmup",
                        "0",
                        "--python",
                        "/nonexistent/python3",
                        "--json"
                    },
                    List.of());
        } finally {
            System.setOut(old);
        }
        assertEquals(ExitCodes.OK, code);
        JsonNode out = new ObjectMapper().readTree(buf.toString(StandardCharsets.UTF_8));
        assertTrue(
                out.get("torch").asText().startsWith("PyTorch peer NOT measured: cannot run /nonexistent/python3"),
                out.get("torch").asText());
        assertTrue(out.get("fma_peak_gflops_per_core").asDouble() > 0);
        JsonNode rows = out.get("results");
        assertEquals(2, rows.size());
        for (int i = 0; i < 2; i++) {
            JsonNode r = rows.get(i);
            assertEquals("16x40x24", r.get("shape").asText());
            assertEquals(i + 1, r.get("threads").asInt());
            assertTrue(r.get("sgemm_gflops").asDouble() > 0, r.toString());
            assertTrue(r.get("qgemm_nf4dq_gflops").asDouble() > 0, r.toString());
            assertFalse(r.has("torch_mm_gflops"), r.toString());
        }
        assertTrue(rows.get(0).has("sgemm_cpu_gflops"), "1-thread rows carry the CPU-time figure");
    }
}
