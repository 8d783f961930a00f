package io.lakelora.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class TokenBlocksTest {
    private static final int X = Batch.IGNORE_INDEX;

    @Test
    void packsDocumentsWithPerDocumentPositionsAndMasksDocumentStarts() {
        Document a = new Document(new int[] {1, 10, 11, 12, 2}, new int[] {1, 10, 11, 12, 2});
        Document b = new Document(new int[] {1, 20, 21, 2}, new int[] {X, X, 21, 2}); // prompt 1, 20 masked
        TokenBlocks t = TokenBlocks.pack(List.of(a, b), 4, 0);
        assertEquals(3, t.size()); // 9 tokens -> 4 + 4 + 1 (padded)
        assertArrayEquals(new int[] {1, 10, 11, 12}, t.ids(0));
        assertArrayEquals(new int[] {0, 1, 2, 3}, t.positions(0));
        assertArrayEquals(new int[] {X, 10, 11, 12}, t.labels(0));
        // block 1: the EOS of a (a fragment: positions restart at the block start), then b starts
        assertArrayEquals(new int[] {2, 1, 20, 21}, t.ids(1));
        assertArrayEquals(new int[] {0, 0, 1, 2}, t.positions(1));
        assertArrayEquals(new int[] {X, X, X, 21}, t.labels(1));
        assertArrayEquals(new int[] {2, 0, 0, 0}, t.ids(2));
        assertArrayEquals(new int[] {0, 0, 1, 2}, t.positions(2));
        assertArrayEquals(new int[] {X, X, X, X}, t.labels(2));
        assertEquals(4, t.targetTokens()); // 10, 11, 12 and 21 (shifted targets at t >= 1)
    }

    @Test
    void splitIsDeterministicAndDisjoint() {
        int[] ids = new int[100 * 4];
        for (int i = 0; i < ids.length; i++) ids[i] = i;
        TokenBlocks all = TokenBlocks.pack(List.of(new Document(ids, ids.clone())), 4, 0);
        TokenBlocks[] s = all.split(0.1, 42);
        assertEquals(90, s[0].size());
        assertEquals(10, s[1].size());
        TokenBlocks[] again = all.split(0.1, 42);
        for (int i = 0; i < 10; i++) assertArrayEquals(s[1].ids(i), again[1].ids(i));
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (TokenBlocks part : s) for (int i = 0; i < part.size(); i++) assertEquals(true, seen.add(part.ids(i)[0]));
        assertEquals(100, seen.size());
        assertNotEquals(s[1].ids(0)[0], all.split(0.1, 43)[1].ids(0)[0]);
        assertEquals(0, all.split(0, 1)[1].size());
    }
}
