package io.lakelora.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.text.Packing.Block;
import io.lakelora.text.Packing.Doc;
import io.lakelora.text.Packing.Overflow;
import io.lakelora.text.Packing.Result;
import io.lakelora.text.Packing.Segment;
import io.lakelora.text.Packing.Strategy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PackingTest {
    private static final int PAD = 0;

    /** A document of n tokens with ids base+0 .. base+n-1 and every label trained. */
    private static Doc doc(String id, int base, int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = base + i;
        return new Doc(id, ids, ids.clone());
    }

    private static List<Integer> lengths(Block b) {
        return b.segments().stream().map(Segment::length).toList();
    }

    @Test
    void greedyFillsInOrderAndBestFitDecreasingPacksTighter() {
        // sizes 6,5,5,4 into blocks of 10: next-fit -> [6] [5,5] [4]; BFD -> [6,4] [5,5]
        List<Doc> docs = List.of(doc("a", 100, 6), doc("b", 200, 5), doc("c", 300, 5), doc("d", 400, 4));
        Result g = Packing.pack(docs, 10, PAD, Strategy.GREEDY, Overflow.SPLIT);
        assertEquals(
                List.of(List.of(6), List.of(5, 5), List.of(4)),
                g.blocks().stream().map(PackingTest::lengths).toList());
        Result b = Packing.pack(docs, 10, PAD, Strategy.BEST_FIT_DECREASING, Overflow.SPLIT);
        assertEquals(
                List.of(List.of(6, 4), List.of(5, 5)),
                b.blocks().stream().map(PackingTest::lengths).toList());
        assertEquals(20.0 / 30, g.fill(10), 1e-12);
        assertEquals(1.0, b.fill(10), 1e-12);
    }

    @Test
    void blockLayoutPositionsLabelsAndPadding() {
        Result r = Packing.pack(List.of(doc("a", 10, 3), doc("b", 20, 2)), 8, 7, Strategy.GREEDY, Overflow.SPLIT);
        Block blk = r.blocks().get(0);
        assertArrayEquals(new int[] {10, 11, 12, 20, 21, 7, 7, 7}, blk.inputIds());
        assertArrayEquals(new int[] {-100, 11, 12, -100, 21, -100, -100, -100}, blk.labels());
        assertArrayEquals(new int[] {0, 1, 2, 0, 1, 0, 0, 0}, blk.positionIds());
        assertEquals(List.of(new Segment("a", 0, 0, 3), new Segment("b", 0, 3, 2)), blk.segments());
        assertEquals(5, blk.usedTokens());
        assertEquals(3, blk.trainedTokens());
    }

    @Test
    void longDocumentsAreSplitIntoPiecesOrRejectedNeverCut() {
        Doc longDoc = doc("long", 0, 23);
        Result split = Packing.pack(List.of(longDoc, doc("s", 500, 2)), 10, PAD, Strategy.GREEDY, Overflow.SPLIT);
        // pieces 10, 10, 3 (+ the short doc packed beside the remainder)
        assertEquals(
                List.of(List.of(10), List.of(10), List.of(3, 2)),
                split.blocks().stream().map(PackingTest::lengths).toList());
        List<Integer> rebuilt = new ArrayList<>();
        for (Block b : split.blocks()) {
            for (Segment s : b.segments()) {
                if (s.docId().equals("long")) {
                    for (int i = 0; i < s.length(); i++) rebuilt.add(b.inputIds()[s.start() + i]);
                }
            }
        }
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < 23; i++) expected.add(i);
        assertEquals(expected, rebuilt);
        assertEquals(
                List.of(0, 1, 2),
                split.blocks().stream()
                        .flatMap(b -> b.segments().stream())
                        .filter(s -> s.docId().equals("long"))
                        .map(Segment::piece)
                        .toList());

        Result q = Packing.pack(List.of(longDoc, doc("s", 500, 2)), 10, PAD, Strategy.GREEDY, Overflow.QUARANTINE);
        assertEquals(List.of("long"), q.rejected().stream().map(Doc::id).toList());
        assertEquals(1, q.blocks().size());
    }

    @Test
    void randomDocsKeepEveryTokenOnceAndNeverOverflow() {
        Random rnd = new Random(7);
        List<Doc> docs = new ArrayList<>();
        int total = 0;
        for (int i = 0; i < 300; i++) {
            int n = 1 + rnd.nextInt(70);
            docs.add(doc("d" + i, i * 1000, n));
            total += n;
        }
        for (Strategy st : Strategy.values()) {
            Result r = Packing.pack(docs, 64, PAD, st, Overflow.SPLIT);
            Map<String, Integer> seen = new HashMap<>();
            int used = 0;
            for (Block b : r.blocks()) {
                assertEquals(64, b.inputIds().length);
                int end = 0;
                for (Segment s : b.segments()) {
                    assertEquals(end, s.start(), "segments are contiguous from 0");
                    end = s.start() + s.length();
                    seen.merge(s.docId(), s.length(), Integer::sum);
                }
                assertTrue(end <= 64);
                used += b.usedTokens();
            }
            assertEquals(total, used, st + ": every token exactly once");
            for (Doc d : docs) assertEquals(d.length(), seen.get(d.id()), st + " " + d.id());
            int lowerBound = (total + 63) / 64;
            assertTrue(r.blocks().size() >= lowerBound);
            if (st == Strategy.BEST_FIT_DECREASING) {
                Result g = Packing.pack(docs, 64, PAD, Strategy.GREEDY, Overflow.SPLIT);
                assertTrue(r.blocks().size() <= g.blocks().size(), "BFD uses no more blocks than next-fit");
            }
        }
    }

    @Test
    void badSettings() {
        assertThrows(
                IllegalArgumentException.class, () -> Packing.pack(List.of(), 1, 0, Strategy.GREEDY, Overflow.SPLIT));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Strategy.parse("first_fit"));
        assertTrue(e.getMessage().contains("pack.strategy"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Doc("x", new int[2], new int[3]));
    }
}
