package io.lakelora.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.util.Assets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The shared Qwen3 tokenizer (Qwen2/2.5/3 byte-level BPE, 151643 tokens + 26 added) loads and encodes as an independent
 * implementation does: {@code fixtures/tokenizer/make_qwen3_golden.py} re-implements NFC, Qwen2's pre-tokenizer
 * pattern, the byte-to-unicode map and BPE merges from the same tokenizer.json with the Python standard library.
 * Cases cover contractions, digits (one token each), runs of spaces and newlines, accents and NFC composition, CJK,
 * emoji and the chat specials.
 */
class Qwen3TokenizerTest {
    static final Path GOLDEN = Path.of("src/test/resources/fixtures/tokenizer/qwen3_golden.json");

    @Test
    void encodesAsTheIndependentByteLevelBpe() throws Exception {
        JsonNode golden = new ObjectMapper().readTree(GOLDEN.toFile());
        assertEquals(
                "tokenizers/qwen3/qwen3-tokenizer.json.gz",
                golden.get("tokenizer").asText());
        JsonNode cases = golden.get("cases");
        assertTrue(cases.size() >= 12);
        try (Tokenizer t = Tokenizer.load(Assets.require(golden.get("tokenizer").asText()))) {
            assertEquals(151669, t.vocabSize(), "151643 BPE tokens + 26 added");
            for (JsonNode c : cases) {
                String text = c.get("text").textValue();
                int[] want = new int[c.get("ids").size()];
                for (int i = 0; i < want.length; i++)
                    want[i] = c.get("ids").get(i).intValue();
                assertArrayEquals(want, t.encode(text, false), () -> "encoding of " + c.get("text"));
                assertArrayEquals(want, t.encode(text, true), "Qwen3 adds no BOS/EOS: " + text);
                String decoded = t.decode(want, false);
                String nfc = java.text.Normalizer.normalize(text, java.text.Normalizer.Form.NFC);
                assertEquals(nfc, decoded, "decode of " + c.get("text"));
            }
            assertEquals("<|im_start|>", t.tokenToString(151644));
            assertEquals(151645, t.tokenId("<|im_end|>"));
        }
    }
}
