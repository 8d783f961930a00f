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
import java.util.List;
import org.junit.jupiter.api.Test;

/** Golden ids: stories260K-expected.json ("Once upon a time" -> 403 407 261 378, BOS 1 from tokenizer_config). */
class TokenizeCommandTest {
    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
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
    void printsIdsAndJson() throws Exception {
        String model = Assets.require("models/stories260K-hf").toString();
        Run r = run("tokenize", "--tokenizer", model, "--text", "Once upon a time");
        assertEquals(0, r.code(), r.err());
        assertEquals("403 407 261 378", r.out().strip());
        r = run("tokenize", "--tokenizer", model, "--text", "Once upon a time", "--add-special-tokens", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("[1,403,407,261,378]", j.get("ids").toString());
        assertEquals("<s>", j.get("tokens").get(0).textValue());
        assertEquals(5, j.get("count").intValue());
    }

    @Test
    void missingTokenizerIsBadInput() {
        Run r = run("tokenize", "--tokenizer", "/nonexistent/dir", "--text", "x");
        assertEquals(ExitCodes.BAD_INPUT, r.code());
        assertTrue(r.err().contains("/nonexistent/dir"), r.err());
        assertEquals(ExitCodes.BAD_CONFIG, run("tokenize", "--text", "x").code());
    }
}
