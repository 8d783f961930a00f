package io.lakelora.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.error.BadInputException;
import io.lakelora.tokenizer.Tokenizer;
import io.lakelora.util.Assets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingDataTest {
    private static Tokenizer tok;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() {
        tok = Tokenizer.load(Assets.require("models/stories260K-hf"));
    }

    @AfterAll
    static void close() {
        if (tok != null) tok.close();
    }

    private Path write(String name, String content) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, content);
        return f;
    }

    @Test
    void textFileSplitsOnEndOfTextAndTrainsEveryTokenPlusEos() throws Exception {
        List<Document> docs = TrainingData.read(write("a.txt", "Once upon a time.\n<|endoftext|>\nThe end.\n"), tok);
        assertEquals(2, docs.size());
        int[] expected = tok.encode("Once upon a time.", true);
        Document d = docs.get(0);
        assertArrayEquals(expected, Arrays.copyOf(d.ids(), d.length() - 1));
        assertEquals(tok.bosId(), d.ids()[0]);
        assertEquals(tok.eosId(), d.ids()[d.length() - 1]);
        assertArrayEquals(d.ids(), d.labels());
        // without a separator the whole file is one document
        assertEquals(1, TrainingData.read(write("b.txt", "one\n\ntwo\n"), tok).size());
    }

    @Test
    void instructionRowsMaskThePromptAndTrainTheResponseAndEos() throws Exception {
        Path f = write(
                "a.jsonl",
                "{\"instruction\": \"Say hi\", \"input\": \"\", \"output\": \"Hi there\"}\n"
                        + "{\"instruction\": \"Add\", \"input\": \"1 and 2\", \"output\": \"3\"}\n");
        List<Document> docs = TrainingData.read(f, tok);
        assertEquals(2, docs.size());
        Document d = docs.get(0);
        int[] prompt = tok.encode(String.format(TrainingData.ALPACA_NO_INPUT, "Say hi"), true);
        int[] response = tok.encode("Hi there", false);
        assertEquals(prompt.length + response.length + 1, d.length());
        for (int i = 0; i < prompt.length; i++) assertEquals(Batch.IGNORE_INDEX, d.labels()[i], "prompt token " + i);
        for (int i = prompt.length; i < d.length(); i++) assertEquals(d.ids()[i], d.labels()[i], "response token " + i);
        assertEquals(tok.eosId(), d.labels()[d.length() - 1]);
        int[] prompt2 = tok.encode(String.format(TrainingData.ALPACA_WITH_INPUT, "Add", "1 and 2"), true);
        assertArrayEquals(prompt2, Arrays.copyOf(docs.get(1).ids(), prompt2.length));
    }

    @Test
    void chatRowsTrainOnlyAssistantContents() throws Exception {
        Path f = write(
                "c.jsonl",
                "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, "
                        + "{\"role\": \"user\", \"content\": \"Hello\"}, {\"role\": \"assistant\", \"content\": \"Hi\"}]}\n");
        Document d = TrainingData.read(f, tok).get(0);
        int[] hi = tok.encode("Hi", false);
        int trained = 0;
        int firstTrained = -1;
        for (int i = 0; i < d.length(); i++) {
            if (d.labels()[i] != Batch.IGNORE_INDEX) {
                trained++;
                if (firstTrained < 0) firstTrained = i;
            }
        }
        assertEquals(hi.length + 1, trained);
        assertArrayEquals(hi, Arrays.copyOfRange(d.ids(), firstTrained, firstTrained + hi.length));
        assertEquals(tok.eosId(), d.ids()[firstTrained + hi.length]);
        assertEquals(tok.bosId(), d.ids()[0]);
    }

    @Test
    void realAlpacaCorpusLoads() throws Exception {
        // llamafactory_identity.json is a JSON array: convert to JSONL rows the way a user would
        var arr = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(Assets.require("corpora/llamafactory_identity.json").toFile());
        StringBuilder sb = new StringBuilder();
        for (var row : arr) sb.append(row.toString()).append('\n');
        List<Document> docs = TrainingData.read(write("identity.jsonl", sb.toString()), tok);
        assertEquals(arr.size(), docs.size());
    }

    private String error(String name, String content) throws Exception {
        Path f = write(name, content);
        return assertThrows(BadInputException.class, () -> TrainingData.read(f, tok))
                .getMessage();
    }

    @Test
    void badDataIsAClearError() throws Exception {
        String m = error("empty.txt", "");
        assertTrue(m.contains("has no training text") && m.contains("empty.txt"), m);
        m = error("blank.jsonl", "\n\n");
        assertTrue(m.contains("has no training text"), m);
        m = error("bad.jsonl", "{\"text\": \"ok\"}\n{not json\n");
        assertTrue(m.contains("bad.jsonl line 2") && m.contains("not valid JSON"), m);
        m = error("keys.jsonl", "{\"prompt\": \"a\", \"completion\": \"b\"}\n");
        assertTrue(m.contains("line 1") && m.contains("[prompt, completion]") && m.contains("'text'"), m);
        m = error("noout.jsonl", "{\"instruction\": \"a\"}\n");
        assertTrue(m.contains("needs an 'output'"), m);
        m = error("type.jsonl", "{\"text\": 5}\n");
        assertTrue(m.contains("'text' must be a string, found number"), m);
        m = error("noassist.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n");
        assertTrue(m.contains("no assistant message"), m);
        m = error("data.csv", "a,b\n");
        assertTrue(m.contains("unsupported extension"), m);
        Path missing = dir.resolve("missing.txt");
        assertTrue(assertThrows(BadInputException.class, () -> TrainingData.read(missing, tok))
                .getMessage()
                .contains("not found"));
    }
}
