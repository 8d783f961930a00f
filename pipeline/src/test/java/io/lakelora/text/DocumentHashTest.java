package io.lakelora.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class DocumentHashTest {

    @Test
    void sha256MatchesTheFipsVector() {
        // FIPS 180-2, appendix B.1: SHA-256("abc")
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", DocumentHash.sha256Hex("abc"));
    }

    @Test
    void splitIsPinnedToItsDefinition() {
        // u = top 53 bits of SHA-256("<seed>:<id>")[0:8] / 2^53, from Python hashlib:
        // doc-1 seed 42 -> 0.8404, doc-2 seed 42 -> 0.1910, doc-3 seed 7 -> 0.8040
        assertEquals("train", DocumentHash.split("doc-1", 0.84, 42));
        assertEquals("eval", DocumentHash.split("doc-1", 0.8404, 42));
        assertEquals("eval", DocumentHash.split("doc-2", 0.2, 42));
        assertEquals("train", DocumentHash.split("doc-2", 0.19, 42));
        assertEquals("train", DocumentHash.split("doc-3", 0.8, 7));
    }

    @Test
    void splitFractionIsAboutRight() {
        int eval = 0;
        for (int i = 0; i < 20000; i++) if (DocumentHash.split("d" + i, 0.1, 1).equals("eval")) eval++;
        // binomial(20000, 0.1): sd = 42; 5 sd bounds
        assertEquals(2000, eval, 210);
    }

    @Test
    void conversationIdSeparatesTurns() {
        String a = DocumentHash.conversationId(List.of(ChatMessage.user("ab"), ChatMessage.assistant("c")));
        String b = DocumentHash.conversationId(List.of(ChatMessage.user("a"), ChatMessage.assistant("bc")));
        assertNotEquals(a, b);
        assertEquals(a, DocumentHash.conversationId(List.of(ChatMessage.user("ab"), ChatMessage.assistant("c"))));
    }
}
