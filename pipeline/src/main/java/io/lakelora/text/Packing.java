package io.lakelora.text;

import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Packs tokenized documents into fixed-length blocks of {@code blockSize} tokens for causal-LM training.
 *
 * <p>Strategies: {@link Strategy#GREEDY} fills blocks in input order and opens a new block when the next document does
 * not fit (next-fit); {@link Strategy#BEST_FIT_DECREASING} sorts documents by length (longest first, ties by id) and
 * puts each into the open block with the least room that still fits it, which wastes less padding. Documents are never
 * cut to fit: one longer than a block is either split into block-sized pieces (the last piece is packed like a
 * document) or rejected, per {@link Overflow}.
 *
 * <p>Every block records its segments (document id, piece number, start, length); position ids restart at 0 for each
 * segment; the first token of each segment gets label {@link #IGNORE} (nothing in its own document precedes it, so it
 * must not be predicted from the previous segment); padding has label {@link #IGNORE}, position 0, and the pad id,
 * which must not be an EOS id (the caller checks). Labels are aligned with input ids (Hugging Face convention: the
 * loss compares position t's logits with label t+1).
 */
public final class Packing {
    /** Label value the loss ignores (PyTorch's cross-entropy ignore_index). */
    public static final int IGNORE = -100;

    private Packing() {}

    public enum Strategy {
        GREEDY("greedy"),
        BEST_FIT_DECREASING("best_fit_decreasing");

        private final String key;

        Strategy(String key) {
            this.key = key;
        }

        public String key() {
            return key;
        }

        public static Strategy parse(String s) {
            for (Strategy v : values()) if (v.key.equals(s)) return v;
            throw new IllegalArgumentException("packing strategy '" + s + "' is unknown, expected one of greedy, "
                    + "best_fit_decreasing. Fix: set pack.strategy to one of these");
        }
    }

    public enum Overflow {
        SPLIT("split"),
        QUARANTINE("quarantine");

        private final String key;

        Overflow(String key) {
            this.key = key;
        }

        public String key() {
            return key;
        }

        public static Overflow parse(String s) {
            for (Overflow v : values()) if (v.key.equals(s)) return v;
            throw new IllegalArgumentException("overflow policy '" + s + "' is unknown, expected split or quarantine. "
                    + "Fix: set pack.overflow to one of these");
        }
    }

    /** A tokenized document: ids and labels of equal length. */
    public record Doc(String id, int[] inputIds, int[] labels) implements Serializable {
        public Doc {
            if (inputIds.length != labels.length) {
                throw new IllegalArgumentException(
                        "document " + id + ": " + inputIds.length + " input ids but " + labels.length + " labels");
            }
        }

        public int length() {
            return inputIds.length;
        }
    }

    /** Where a piece of a document sits in a block. */
    public record Segment(String docId, int piece, int start, int length) implements Serializable {}

    /** One packed block of exactly blockSize tokens. */
    public record Block(int[] inputIds, int[] labels, int[] positionIds, List<Segment> segments)
            implements Serializable {
        /** Tokens that belong to documents (not padding). */
        public int usedTokens() {
            int n = 0;
            for (Segment s : segments) n += s.length();
            return n;
        }

        /** Tokens with a label the loss uses. */
        public int trainedTokens() {
            int n = 0;
            for (int l : labels) if (l != IGNORE) n++;
            return n;
        }
    }

    /** Blocks plus the documents rejected because they are longer than a block (overflow = quarantine). */
    public record Result(List<Block> blocks, List<Doc> rejected) {
        /** Used tokens / (blocks x blockSize). */
        public double fill(int blockSize) {
            if (blocks.isEmpty()) return 0;
            long used = 0;
            for (Block b : blocks) used += b.usedTokens();
            return (double) used / ((long) blocks.size() * blockSize);
        }
    }

    private record Piece(String docId, int piece, int[] ids, int[] labels, int from, int len) {}

    /** Packs the documents; deterministic for a given input order. Empty documents are skipped. */
    public static Result pack(List<Doc> docs, int blockSize, int padId, Strategy strategy, Overflow overflow) {
        if (blockSize < 2) {
            throw new IllegalArgumentException("pack.block_size is " + blockSize + ", expected >= 2");
        }
        List<Piece> pieces = new ArrayList<>();
        List<Doc> rejected = new ArrayList<>();
        List<Piece> fullPieces = new ArrayList<>();
        for (Doc d : docs) {
            int n = d.length();
            if (n == 0) continue;
            if (n <= blockSize) {
                pieces.add(new Piece(d.id(), 0, d.inputIds(), d.labels(), 0, n));
            } else if (overflow == Overflow.QUARANTINE) {
                rejected.add(d);
            } else {
                int p = 0;
                int from = 0;
                for (; n - from > blockSize; from += blockSize) {
                    fullPieces.add(new Piece(d.id(), p++, d.inputIds(), d.labels(), from, blockSize));
                }
                pieces.add(new Piece(d.id(), p, d.inputIds(), d.labels(), from, n - from));
            }
        }
        List<List<Piece>> bins = new ArrayList<>();
        for (Piece fp : fullPieces) bins.add(List.of(fp));
        if (strategy == Strategy.GREEDY) {
            greedy(pieces, blockSize, bins);
        } else {
            bestFitDecreasing(pieces, blockSize, bins);
        }
        List<Block> blocks = new ArrayList<>(bins.size());
        for (List<Piece> bin : bins) blocks.add(toBlock(bin, blockSize, padId));
        return new Result(blocks, rejected);
    }

    private static void greedy(List<Piece> pieces, int blockSize, List<List<Piece>> bins) {
        List<Piece> cur = new ArrayList<>();
        int used = 0;
        for (Piece p : pieces) {
            if (used + p.len() > blockSize) {
                bins.add(cur);
                cur = new ArrayList<>();
                used = 0;
            }
            cur.add(p);
            used += p.len();
        }
        if (!cur.isEmpty()) bins.add(cur);
    }

    private static void bestFitDecreasing(List<Piece> pieces, int blockSize, List<List<Piece>> bins) {
        List<Piece> sorted = new ArrayList<>(pieces);
        sorted.sort(Comparator.comparingInt(Piece::len)
                .reversed()
                .thenComparing(Piece::docId)
                .thenComparingInt(Piece::piece));
        int first = bins.size();
        // remaining room -> indexes of open bins with that room (oldest first)
        TreeMap<Integer, Deque<Integer>> byRoom = new TreeMap<>();
        List<Integer> room = new ArrayList<>();
        for (Piece p : sorted) {
            Map.Entry<Integer, Deque<Integer>> fit = byRoom.ceilingEntry(p.len());
            int bin;
            if (fit == null) {
                bin = bins.size();
                bins.add(new ArrayList<>());
                room.add(blockSize);
            } else {
                bin = fit.getValue().pollFirst();
                if (fit.getValue().isEmpty()) byRoom.remove(fit.getKey());
            }
            bins.get(bin).add(p);
            int left = room.get(bin - first) - p.len();
            room.set(bin - first, left);
            if (left > 0) byRoom.computeIfAbsent(left, k -> new ArrayDeque<>()).addLast(bin);
        }
    }

    private static Block toBlock(List<Piece> bin, int blockSize, int padId) {
        int[] ids = new int[blockSize];
        int[] labels = new int[blockSize];
        int[] pos = new int[blockSize];
        Arrays.fill(ids, padId);
        Arrays.fill(labels, IGNORE);
        List<Segment> segs = new ArrayList<>(bin.size());
        int at = 0;
        for (Piece p : bin) {
            System.arraycopy(p.ids(), p.from(), ids, at, p.len());
            System.arraycopy(p.labels(), p.from(), labels, at, p.len());
            labels[at] = IGNORE;
            for (int i = 0; i < p.len(); i++) pos[at + i] = i;
            segs.add(new Segment(p.docId(), p.piece(), at, p.len()));
            at += p.len();
        }
        return new Block(ids, labels, pos, List.copyOf(segs));
    }
}
