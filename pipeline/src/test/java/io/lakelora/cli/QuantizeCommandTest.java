package io.lakelora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.ExitCodes;
import io.lakelora.quant.QuantType;
import io.lakelora.quant.io.QuantizedCheckpoint;
import io.lakelora.util.Assets;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lakelora quantize} on the real stories260K model, and its exit codes for bad calls. */
class QuantizeCommandTest {
    @TempDir
    Path tmp;

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Cli.run(args, List.of());
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void quantizesStories260KAndReloads() throws Exception {
        Path model = Assets.require("models/stories260K-hf");
        Path out = tmp.resolve("nf4");
        Run r = run("quantize", "--model", model.toString(), "--out", out.toString(), "--json", "--verify");
        assertEquals(ExitCodes.OK, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("nf4", j.get("quant").asText());
        assertEquals(64, j.get("blocksize").asInt());
        assertTrue(j.get("double_quant").asBoolean());
        assertEquals(35, j.get("quantized_tensors").asInt());
        assertEquals(35, j.get("verified_tensors").asInt());
        assertEquals(12, j.get("kept_tensors").asInt());
        // per layer: q, o 64x64 (64 blocks), k, v 32x64 (32 blocks), gate, up, down 172x64 (172 blocks), one nested
        // block per matrix: (4 * 45312 + 8 * 708 + 32 * 7) / 45312 = 4.12994...
        assertEquals(4.1299, j.get("bits_per_param").asDouble(), 0.0);
        assertTrue(j.get("resident_bytes").asLong() > 0);
        assertTrue(j.get("seconds").asDouble() >= 0);
        assertEquals(List.of("model.safetensors"), List.of(j.get("files").get(0).asText()));
        try (QuantizedCheckpoint ck = QuantizedCheckpoint.open(out)) {
            assertEquals(35, ck.quantizedWeights().size());
            assertEquals(
                    QuantType.NF4,
                    ck.load("model.layers.2.mlp.down_proj.weight").type());
        }

        Run human = run(
                "quantize",
                "--model",
                model.toString(),
                "--out",
                tmp.resolve("int8").toString(),
                "--quant",
                "int8");
        assertEquals(ExitCodes.OK, human.code(), human.err());
        assertTrue(human.out().contains("bits_per_param: "), human.out());
        assertTrue(human.out().contains("double_quant: false"), human.out());
        assertTrue(Files.isRegularFile(tmp.resolve("int8").resolve("model.safetensors")));
    }

    @Test
    void badCallsGiveClearErrorsAndExitCodes() {
        Path model = Assets.require("models/stories260K-hf");
        Run r = run(
                "quantize",
                "--model",
                model.toString(),
                "--out",
                tmp.resolve("a").toString(),
                "--quant",
                "q3");
        assertEquals(ExitCodes.BAD_CONFIG, r.code());
        assertTrue(r.err().contains("unknown quantization 'q3'"), r.err());

        r = run(
                "quantize",
                "--model",
                model.toString(),
                "--out",
                tmp.resolve("b").toString(),
                "--quant",
                "int8",
                "--double-quant",
                "true");
        assertEquals(ExitCodes.BAD_CONFIG, r.code());
        assertTrue(r.err().contains("double quantization"), r.err());

        r = run(
                "quantize",
                "--model",
                model.toString(),
                "--out",
                tmp.resolve("c").toString(),
                "--blocksize",
                "100");
        assertEquals(ExitCodes.BAD_CONFIG, r.code());
        assertTrue(r.err().contains("blocksize"), r.err());

        r = run(
                "quantize",
                "--model",
                tmp.resolve("missing").toString(),
                "--out",
                tmp.resolve("d").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.code());
        assertTrue(r.err().contains("config.json"), r.err());

        r = run("quantize", "--out", tmp.resolve("e").toString());
        assertEquals(ExitCodes.BAD_CONFIG, r.code());
    }
}
