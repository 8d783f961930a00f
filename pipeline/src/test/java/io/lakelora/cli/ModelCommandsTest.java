package io.lakelora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.ExitCodes;
import io.lakelora.util.Assets;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** generate / score on the real stories260K; expected ids come from stories260K-expected.json (shared assets). */
class ModelCommandsTest {
    static final String MODEL = Assets.require("models/stories260K-hf").toString();
    static final ObjectMapper JSON = new ObjectMapper();

    record Run(int code, String out, String err) {}

    static Run cli(String... args) {
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

    static JsonNode golden() throws Exception {
        return JSON.readTree(Assets.require("models/stories260K-expected.json").toFile());
    }

    @Test
    void generateFromBosIdsAndFromText() throws Exception {
        JsonNode ids = golden().get("greedy").get("generated_ids");
        Run r = cli(
                "generate",
                "--model",
                MODEL,
                "--quant",
                "none",
                "--prompt-ids",
                "1",
                "--max-new-tokens",
                "30",
                "--json");
        assertEquals(ExitCodes.OK, r.code(), r.err());
        JsonNode j = JSON.readTree(r.out());
        for (int i = 0; i < 30; i++)
            assertEquals(ids.get(i).asInt(), j.get("ids").get(i).asInt(), "token " + i);
        assertEquals(false, j.get("stopped_at_eos").asBoolean());
        // "Once upon a time" = golden tok512 encoding [403, 407, 261, 378] = the first 4 greedy tokens, so the
        // continuation of BOS + those is golden[4..9)
        JsonNode enc = golden().get("tok512_encodings_no_bos").get("Once upon a time");
        r = cli(
                "generate",
                "--model",
                MODEL,
                "--quant",
                "none",
                "--prompt",
                "Once upon a time",
                "--max-new-tokens",
                "5",
                "--json");
        assertEquals(ExitCodes.OK, r.code(), r.err());
        j = JSON.readTree(r.out());
        assertEquals(1, j.get("prompt_ids").get(0).asInt());
        for (int i = 0; i < 4; i++)
            assertEquals(enc.get(i).asInt(), j.get("prompt_ids").get(i + 1).asInt());
        for (int i = 0; i < 5; i++)
            assertEquals(ids.get(4 + i).asInt(), j.get("ids").get(i).asInt());
    }

    @Test
    void nf4IsTheDefaultAndAQuantizedDirectoryLoadsAsStored(@TempDir Path tmp) throws Exception {
        JsonNode ids = golden().get("greedy").get("generated_ids");
        // NF4+DQ keeps the first 20 greedy tokens of the fp32 golden text (Stories260KTest reports the full figures)
        Run r = cli("generate", "--model", MODEL, "--prompt-ids", "1", "--max-new-tokens", "20", "--json");
        assertEquals(ExitCodes.OK, r.code(), r.err());
        assertTrue(r.err().contains("(nf4,"), r.err());
        JsonNode j = JSON.readTree(r.out());
        for (int i = 0; i < 20; i++)
            assertEquals(ids.get(i).asInt(), j.get("ids").get(i).asInt(), "token " + i);
        Path q = tmp.resolve("q");
        assertEquals(
                ExitCodes.OK,
                cli("quantize", "--model", MODEL, "--out", q.toString()).code());
        Run stored = cli("generate", "--model", q.toString(), "--prompt-ids", "1", "--max-new-tokens", "20", "--json");
        assertEquals(ExitCodes.OK, stored.code(), stored.err());
        assertEquals(j.get("ids"), JSON.readTree(stored.out()).get("ids"));
        Run mismatch = cli("generate", "--model", q.toString(), "--quant", "none");
        assertEquals(ExitCodes.BAD_CONFIG, mismatch.code());
        assertTrue(mismatch.err().contains("is stored quantized as nf4 but --quant none was asked"), mismatch.err());
    }

    @Test
    void scoreIdsAndTextLines(@TempDir Path tmp) throws Exception {
        Path in = tmp.resolve("in.jsonl");
        Files.writeString(in, "{\"input_ids\": [1, 403, 407, 261, 378]}\n\n{\"text\": \"Once upon a time\"}\n");
        Run r = cli("score", "--model", MODEL, "--quant", "none", "--input", in.toString(), "--json");
        assertEquals(ExitCodes.OK, r.code(), r.err());
        JsonNode lines = JSON.readTree(r.out()).get("lines");
        assertEquals(2, lines.size());
        assertEquals(1, lines.get(0).get("line").asInt());
        assertEquals(3, lines.get(1).get("line").asInt());
        assertEquals(4, lines.get(0).get("tokens").asInt());
        assertEquals(4, lines.get(1).get("tokens").asInt());
        double a = lines.get(0).get("mean_nll").asDouble();
        assertTrue(a > 0 && a < Math.log(512), "mean NLL " + a);
        assertEquals(a, lines.get(1).get("mean_nll").asDouble(), 0.0, "same ids via text and via input_ids");
    }

    @Test
    void badInputsGiveOneLineErrors(@TempDir Path tmp) throws Exception {
        Path in = tmp.resolve("bad.jsonl");
        Files.writeString(in, "{\"input_ids\": [1, 2]}\n{\"foo\": 1}\n");
        Run r = cli("score", "--model", MODEL, "--quant", "none", "--input", in.toString());
        assertEquals(ExitCodes.BAD_INPUT, r.code());
        assertTrue(r.err().contains(in + ":2 has neither \"input_ids\" (array) nor \"text\" (string)"), r.err());
        Files.writeString(in, "{\"input_ids\": [1, 512]}\n");
        r = cli("score", "--model", MODEL, "--quant", "none", "--input", in.toString());
        assertEquals(ExitCodes.BAD_INPUT, r.code());
        assertTrue(r.err().contains(in + ":1: input_ids[1] = 512 is not a token id in [0, 512)"), r.err());
        r = cli("generate", "--model", MODEL, "--quant", "none", "--prompt-ids", "1,999");
        assertEquals(ExitCodes.BAD_CONFIG, r.code());
        assertTrue(r.err().contains("prompt token id 999 is outside the vocabulary [0, 512)"), r.err());
        r = cli("generate", "--model", tmp.toString(), "--quant", "none");
        assertEquals(ExitCodes.BAD_INPUT, r.code());
        assertTrue(r.err().contains("has no config.json"), r.err());
    }
}
