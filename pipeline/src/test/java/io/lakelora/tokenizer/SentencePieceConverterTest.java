package io.lakelora.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.BadInputException;
import io.lakelora.util.Assets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real LLaMA-2 tokenizer.model converted in memory must reproduce llama2/expected_encodings.json (17 cases from
 * llama2.c's test.c / Meta's examples, ids with BOS, computed by SentencePiece itself).
 */
class SentencePieceConverterTest {
    @Test
    void llama2TokenizerModelMatchesAllExpectedEncodings() throws Exception {
        JsonNode cases = new ObjectMapper()
                .readTree(Assets.require("tokenizers/llama2/expected_encodings.json")
                        .toFile())
                .get("cases");
        assertEquals(17, cases.size());
        try (Tokenizer t = Tokenizer.load(Assets.require("tokenizers/llama2/tokenizer.model"))) {
            assertEquals(32000, t.vocabSize());
            assertEquals(1, t.bosId());
            assertEquals(2, t.eosId());
            assertEquals(-1, t.padId());
            assertEquals("<0x0A>", t.tokenToString(13));
            for (JsonNode c : cases) {
                String text = c.get("text").textValue();
                int[] want = new int[c.get("ids").size()];
                for (int i = 0; i < want.length; i++)
                    want[i] = c.get("ids").get(i).intValue();
                assertArrayEquals(want, t.encode(text, true), () -> "encoding of " + text);
                assertEquals(text, t.decode(want, true), () -> "decode of " + text);
            }
        }
    }

    @Test
    void mergesFollowPieceScoresAndSplitsInVocabOrder() {
        List<SentencePieceConverter.Piece> pieces = List.of(
                new SentencePieceConverter.Piece("<unk>", 0, 2),
                new SentencePieceConverter.Piece("a", -5, 1),
                new SentencePieceConverter.Piece("b", -6, 1),
                new SentencePieceConverter.Piece("c", -7, 1),
                new SentencePieceConverter.Piece("bc", -1, 1),
                new SentencePieceConverter.Piece("ab", -2, 1),
                new SentencePieceConverter.Piece("abc", -3, 1));
        List<String[]> m = SentencePieceConverter.merges(pieces);
        assertEquals(
                List.of("b c", "a b", "a bc", "ab c"),
                m.stream().map(x -> x[0] + " " + x[1]).toList(),
                "score order -1, -2, -3; the two splits of 'abc' by (id left, id right): a(1)+bc(4) before ab(5)+c(3)");
    }

    @Test
    void notAProtobufIsAClearError(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("tokenizer.model");
        Files.write(f, new byte[] {(byte) 0x0A, (byte) 0xFF, (byte) 0xFF, 0x01});
        BadInputException e = assertThrows(BadInputException.class, () -> Tokenizer.load(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("ModelProto"), e.getMessage());
    }
}
