package io.lakelora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.safetensors.SafetensorsFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code grads} against PyTorch: the lora_parity fixtures (gen_lora_parity.py: HF-style model + a PEFT adapter directory
 * written by the python script, expected gradients of the mean loss under PEFT keys) for an untied GQA LLaMA and a
 * tied Qwen2 with q/k/v biases, rsLoRA and packed documents; fp32 base and NF4 (no double quant) base.
 */
class GradsCommandTest {
    @TempDir Path dir;

    private static Path fixture(String name) {
        Path root = Path.of(System.getProperty("lakelora.root", "..")).resolve(
                "pipeline/src/test/resources/fixtures/lora_parity").resolve(name);
        if (!Files.isDirectory(root)) throw new IllegalStateException("fixture missing: " + root);
        return root;
    }

    /** The batch of expected.safetensors as the command's JSON input. */
    private Path input(Path fx) throws Exception {
        ObjectNode in = new ObjectMapper().createObjectNode();
        try (SafetensorsFile f = SafetensorsFile.open(fx.resolve("expected.safetensors"))) {
            for (String k : List.of("input_ids", "labels", "position_ids")) {
                long[] shape = f.info(k).shape();
                ByteBuffer b = ByteBuffer.wrap(f.readBytes(k)).order(ByteOrder.LITTLE_ENDIAN);
                ArrayNode rows = in.putArray(k);
                for (int i = 0; i < shape[0]; i++) {
                    ArrayNode row = rows.addArray();
                    for (int t = 0; t < shape[1]; t++) row.add(b.getInt());
                }
            }
        }
        Path p = dir.resolve(fx.getFileName() + ".json");
        Files.writeString(p, in.toString());
        return p;
    }

    private Map<String, Object> grads(String... args) {
        GradsCommand cmd = new GradsCommand();
        new CommandLine(cmd).parseArgs(args);
        try {
            return cmd.execute();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private void check(String name, boolean nf4) throws Exception {
        Path fx = fixture(name);
        JsonNode expected = new ObjectMapper().readTree(fx.resolve("expected.json").toFile());
        Path out = dir.resolve(name + (nf4 ? "-nf4" : "") + ".safetensors");
        Map<String, Object> r = grads("--model", fx.toString(), "--adapter", fx.resolve("adapter").toString(),
                "--input", input(fx).toString(), "--out", out.toString(), "--quant", nf4 ? "nf4" : "none",
                "--no-double-quant");
        double loss = expected.get(nf4 ? "loss_nf4" : "loss").asDouble();
        assertEquals(loss, (double) r.get("loss"), 1e-4 * loss, name);
        assertEquals(expected.get("tokens").asLong(), r.get("tokens"));
        String prefix = nf4 ? "grad_nf4." : "grad.";
        double worst = 0;
        int n = 0;
        try (SafetensorsFile got = SafetensorsFile.open(out);
             SafetensorsFile ref = SafetensorsFile.open(fx.resolve("expected.safetensors"))) {
            assertEquals(loss, Double.parseDouble(got.metadata().get("loss")), 1e-4 * loss);
            assertEquals("pt", got.metadata().get("format"));
            for (String key : got.tensors().keySet()) {
                float[] g = got.readFloats(key);
                float[] e = ref.readFloats(prefix + key);
                double maxDiff = 0, scale = 0;
                for (int i = 0; i < e.length; i++) {
                    maxDiff = Math.max(maxDiff, Math.abs(g[i] - e[i]));
                    scale = Math.max(scale, Math.abs(e[i]));
                }
                worst = Math.max(worst, maxDiff / scale);
                n++;
            }
            long refCount = ref.tensors().keySet().stream().filter(k -> k.startsWith(prefix)).count();
            assertEquals(refCount, n, "one gradient per adapter tensor");
        }
        System.out.printf("grads %s %s vs torch: %d tensors, loss %.6f, max |diff|/max|grad| %.2e%n", name,
                nf4 ? "nf4" : "fp32", n, (double) r.get("loss"), worst);
        assertTrue(worst < 1e-4, name + " worst relative error " + worst);
    }

    @Test
    void matchesTorchOnAnUntiedGqaLlama() throws Exception {
        check("llama_gqa", false);
        check("llama_gqa", true);
    }

    @Test
    void matchesTorchOnATiedQwen2WithBiasesRsloraAndPackedDocuments() throws Exception {
        check("qwen2_tied_packed", false);
        check("qwen2_tied_packed", true);
    }

    @Test
    void badInputIsAClearError() throws Exception {
        Path fx = fixture("llama_gqa");
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{\"input_ids\": [[1, 2, 3]], \"labels\": [[-100, -100, -100]]}");
        BadInputException e = assertThrows(BadInputException.class, () -> grads("--model", fx.toString(),
                "--adapter", fx.resolve("adapter").toString(), "--input", bad.toString(), "--out",
                dir.resolve("g.safetensors").toString()));
        assertTrue(e.getMessage().contains("every label is -100"), e.getMessage());
        Files.writeString(bad, "{\"ids\": [[1, 2]]}");
        e = assertThrows(BadInputException.class, () -> grads("--model", fx.toString(), "--adapter",
                fx.resolve("adapter").toString(), "--input", bad.toString(), "--out", dir.resolve("g").toString()));
        assertTrue(e.getMessage().contains("expected {\"input_ids\""), e.getMessage());
    }
}
