package io.lakelora.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.BadInputException;
import io.lakelora.util.Assets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Golden encodings from the shared assets (each case's source is recorded in the asset file: llama3-tokenizer-js,
 * mistral-tokenizer-js test suites, and stories260K-expected.json computed with llama2.c's tokenizer).
 */
class TokenizerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static int[] ids(JsonNode arr) {
        int[] r = new int[arr.size()];
        for (int i = 0; i < r.length; i++) r[i] = arr.get(i).intValue();
        return r;
    }

    private static void checkCases(String tokenizer, String expected, boolean withSpecials) throws Exception {
        JsonNode cases = JSON.readTree(Assets.require(expected).toFile()).get("cases");
        assertTrue(cases.size() >= 12, expected);
        try (Tokenizer t = Tokenizer.load(Assets.require(tokenizer))) {
            for (JsonNode c : cases) {
                String text = c.get("text").textValue();
                int[] want = ids(c.get("ids"));
                assertArrayEquals(want, t.encode(text, withSpecials), () -> "encoding of " + JSON.valueToTree(text));
                assertEquals(text, t.decode(want, true), () -> "decode of " + JSON.valueToTree(text));
            }
        }
    }

    @Test
    void llama3MatchesExpectedEncodings() throws Exception {
        checkCases("tokenizers/llama3/tokenizer.json.gz", "tokenizers/llama3/expected_encodings.json", false);
    }

    @Test
    void mistralMatchesExpectedEncodingsWithBos() throws Exception {
        checkCases("tokenizers/mistral/tokenizer.json.gz", "tokenizers/mistral/expected_encodings.json", true);
    }

    @Test
    void stories260KMatchesExpectedEncodings() throws Exception {
        JsonNode enc = JSON.readTree(
                        Assets.require("models/stories260K-expected.json").toFile())
                .get("tok512_encodings_no_bos");
        assertEquals(6, enc.size());
        try (Tokenizer t = Tokenizer.load(Assets.require("models/stories260K-hf"))) {
            for (Iterator<Map.Entry<String, JsonNode>> it = enc.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                assertArrayEquals(ids(e.getValue()), t.encode(e.getKey(), false), e.getKey());
                assertEquals(e.getKey(), t.decode(ids(e.getValue()), false));
                int[] withBos = t.encode(e.getKey(), true);
                assertEquals(1, withBos[0], "add_bos_token=true in tokenizer_config.json");
                assertArrayEquals(ids(e.getValue()), Arrays.copyOfRange(withBos, 1, withBos.length));
            }
        }
    }

    @Test
    void stories260KSpecialTokensFromTokenizerConfig() {
        try (Tokenizer t = Tokenizer.load(Assets.require("models/stories260K-hf"))) {
            assertEquals(512, t.vocabSize());
            assertEquals(1, t.bosId());
            assertEquals(2, t.eosId());
            assertArrayEquals(new int[] {2}, t.eosIds());
            assertEquals(-1, t.padId(), "pad_token is null in tokenizer_config.json and must not fall back to eos");
            assertFalse(t.padIsEos());
            assertEquals("<s>", t.bosToken());
            assertEquals("</s>", t.eosToken());
            assertEquals("<0x0A>", t.tokenToString(13));
            assertEquals(13, t.tokenId("<0x0A>"));
            assertTrue(t.chatTemplate().isEmpty());
            assertTrue(t.isSpecial(1));
            assertFalse(t.isSpecial(13));
            // skipSpecialTokens drops BOS/EOS; keeping them shows the token text
            int[] ids = {1, 403, 407, 261, 378, 2};
            assertEquals("Once upon a time", t.decode(ids, true));
            assertEquals("<s> Once upon a time</s>", t.decode(ids, false));
            assertThrows(IllegalArgumentException.class, () -> t.tokenToString(512));
            assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {5000}, false));
        }
    }

    @Test
    void llama3SpecialsAndChatTemplate() {
        try (Tokenizer t = Tokenizer.load(Assets.require("tokenizers/llama3/tokenizer.json.gz"))) {
            assertEquals(128256, t.vocabSize());
            assertEquals(128000, t.bosId());
            assertEquals(128001, t.eosId());
            assertEquals(-1, t.padId());
            assertEquals("<|eot_id|>", t.tokenToString(128009));
            assertTrue(t.chatTemplate().orElseThrow().contains("<|start_header_id|>"));
            // this tokenizer.json's post_processor is ByteLevel only (adds no BOS), and its class is
            // PreTrainedTokenizerFast, so the file decides: no specials are added.
            assertArrayEquals(t.encode("Hello world", false), t.encode("Hello world", true));
            assertEquals("<|begin_of_text|>Hi", t.decode(new int[] {128000, 13347}, false));
        }
    }

    @Test
    void qwen3PadIsExplicitAndDistinctFromEos() {
        try (Tokenizer t = Tokenizer.load(Assets.require("tokenizers/qwen3/qwen3-tokenizer.json.gz"))) {
            assertEquals(-1, t.bosId(), "bos_token is null in qwen3-tokenizer_config.json");
            assertEquals(151645, t.eosId());
            assertEquals(151643, t.padId());
            assertFalse(t.padIsEos());
            assertTrue(t.chatTemplate().orElseThrow().contains("<|im_start|>"));
        }
    }

    @Test
    void longTextIsNotTruncated() {
        String text = "Once upon a time there was a little cat. ".repeat(200);
        try (Tokenizer t = Tokenizer.load(Assets.require("models/stories260K-hf"))) {
            int[] ids = t.encode(text, true);
            assertTrue(ids.length > 2000, "model_max_length is 512 but encode must not truncate: " + ids.length);
            assertEquals(text, t.decode(ids, true));
        }
    }

    @Test
    void concurrentEncodeGivesSameResults() throws Exception {
        try (Tokenizer t = Tokenizer.load(Assets.require("tokenizers/mistral/tokenizer.json.gz"))) {
            String text = "The quick brown fox jumps over the lazy dog. 镇🦙";
            int[] want = t.encode(text, true);
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<int[]>> fs = new ArrayList<>();
                for (int i = 0; i < 200; i++) fs.add(pool.submit(() -> t.encode(text, true)));
                for (Future<int[]> f : fs) assertArrayEquals(want, f.get());
            } finally {
                pool.shutdown();
            }
        }
    }

    @Test
    void modelDirCompanionsGenerationConfigAndNamedChatTemplates(@TempDir Path dir) throws Exception {
        Files.copy(Assets.require("models/stories260K-hf/tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.writeString(
                dir.resolve("tokenizer_config.json"),
                "{\"tokenizer_class\":\"LlamaTokenizerFast\","
                        + "\"bos_token\":{\"content\":\"<s>\",\"__type\":\"AddedToken\"},\"eos_token\":\"</s>\","
                        + "\"add_bos_token\":false,\"add_eos_token\":true,\"pad_token\":\"<unk>\","
                        + "\"chat_template\":[{\"name\":\"tool_use\",\"template\":\"T\"},{\"name\":\"default\",\"template\":\"D\"}]}");
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\":[2,13]}");
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertEquals(1, t.bosId());
            assertArrayEquals(new int[] {2, 13}, t.eosIds());
            assertEquals(0, t.padId());
            assertEquals("D", t.chatTemplate().orElseThrow());
            int[] ids = t.encode("Once upon a time", true);
            assertArrayEquals(new int[] {403, 407, 261, 378, 2}, ids, "add_bos_token=false, add_eos_token=true");
        }
    }

    @Test
    void missingFilesAreClearErrors(@TempDir Path dir) throws Exception {
        BadInputException e = assertThrows(BadInputException.class, () -> Tokenizer.load(dir));
        assertTrue(
                e.getMessage().contains(dir.toString()) && e.getMessage().contains("tokenizer.json"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> Tokenizer.load(dir.resolve("nope.json")));
        assertTrue(e.getMessage().contains("nope.json"), e.getMessage());
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": [1,2");
        e = assertThrows(BadInputException.class, () -> Tokenizer.load(dir));
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
    }

    @Test
    void closedTokenizerRefusesWork() {
        Tokenizer t = Tokenizer.load(Assets.require("models/stories260K-hf"));
        t.close();
        t.close();
        assertThrows(IllegalStateException.class, () -> t.encode("x", false));
    }
}
