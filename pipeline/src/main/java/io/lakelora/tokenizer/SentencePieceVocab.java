package io.lakelora.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.BadInputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A SentencePiece-style vocabulary (LLaMA-1/2, Mistral, TinyLlama, the llama2.c models) as SentencePiece itself and
 * llama.cpp's {@code llama} tokenizer see it: every piece in id order with its score and type. Read from a
 * SentencePiece {@code tokenizer.model} (the real scores and types), or from a Hugging Face {@code tokenizer.json}
 * whose model is a BPE over "▁"-escaped pieces with byte fallback (what transformers' LlamaConverter writes); that
 * file has merges but no scores, so the scores are derived: the pieces that some merge produces, ordered by their
 * first merge (HF applies the lowest-ranked merge first, SentencePiece the highest-scored piece), then every other
 * normal piece in id order, get 0, -1, -2, ...; special, unknown and byte pieces 0. That is SentencePiece's own
 * numbering for BPE models (tested against llama2.c's tok512.bin and LLaMA-2's tokenizer.model).
 *
 * <p>A byte-level BPE tokenizer.json (GPT-2 style: Llama 3, Qwen) is not a SentencePiece vocabulary: {@link #of}
 * refuses it with {@link UnsupportedOperationException}.
 *
 * @param pieces the pieces, index = token id
 * @param unkId the unknown piece's id, -1 when none
 * @param addDummyPrefix whether "▁" is put before the text (SentencePiece's add_dummy_prefix)
 * @param scoresFromModel true when the scores are the model file's, false when derived from merges
 * @param source the file read
 */
public record SentencePieceVocab(
        List<Piece> pieces, int unkId, boolean addDummyPrefix, boolean scoresFromModel, Path source) {
    /** SentencePiece's piece types ({@code sentencepiece_model.proto}; also llama.cpp's token types). */
    public static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    private static final String SPACE = "\u2581";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One piece: its text ("▁" for a space), score and type. */
    public record Piece(String text, float score, int type) {}

    public SentencePieceVocab {
        pieces = List.copyOf(pieces);
    }

    /** The vocabulary of a model directory or tokenizer file (tokenizer.json, tokenizer.json.gz, tokenizer.model). */
    public static SentencePieceVocab of(Path modelDirOrFile) {
        Path f = TokenizerFiles.locate(modelDirOrFile).tokenizer();
        if (f.getFileName().toString().endsWith(".model")) {
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(f);
            } catch (IOException e) {
                throw new UncheckedIOException("reading " + f, e);
            }
            SentencePieceConverter.Model m;
            try {
                m = SentencePieceConverter.parse(bytes);
            } catch (IllegalArgumentException e) {
                throw new BadInputException(
                        "SentencePiece model " + f + " is not a valid ModelProto (" + e.getMessage()
                                + "). Fix: point at the model's tokenizer.model or tokenizer.json",
                        e);
            }
            return fromModel(m, f, true);
        }
        return fromTokenizerJson(TokenizerFiles.readMaybeGzip(f), f);
    }

    /** The vocabulary of a llama2.c tokenizer file ({@code tok512.bin}, ...), with its SentencePiece scores. */
    public static SentencePieceVocab ofLlama2c(Path file, int vocabSize) {
        return fromModel(Llama2cVocab.read(file, vocabSize), file, true);
    }

    private static SentencePieceVocab fromModel(SentencePieceConverter.Model m, Path f, boolean fromModel) {
        List<Piece> out = new ArrayList<>(m.pieces().size());
        for (SentencePieceConverter.Piece p : m.pieces()) out.add(new Piece(p.piece(), p.score(), p.type()));
        return new SentencePieceVocab(out, m.unkId(), m.addDummyPrefix(), fromModel, f);
    }

    static SentencePieceVocab fromTokenizerJson(byte[] json, Path f) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new BadInputException(
                    f + ": not valid JSON (" + e.getMessage() + "). Fix: restore the tokenizer "
                            + "file as saved by transformers",
                    e);
        }
        JsonNode model = root.path("model");
        String unsupported = spmStyle(root, model);
        if (unsupported != null) {
            throw new UnsupportedOperationException("tokenizer " + f + " is not a SentencePiece-style vocabulary ("
                    + unsupported + "); GGUF export writes SentencePiece (llama) vocabularies only. Fix: convert the "
                    + "base model with llama.cpp's convert_hf_to_gguf.py; the adapter GGUF works with that file");
        }
        Map<Integer, String> byId = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = model.path("vocab").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            putId(byId, e.getValue().asInt(-1), e.getKey(), f);
        }
        Map<Integer, Integer> addedType = new HashMap<>();
        String unkToken = model.path("unk_token").asText(null);
        for (JsonNode a : root.path("added_tokens")) {
            int id = a.path("id").asInt(-1);
            String content = a.path("content").asText();
            String prev = byId.get(id);
            if (prev != null && !prev.equals(content)) {
                throw new BadInputException(f + ": added token id " + id + " is '" + content + "' but the vocabulary "
                        + "has '" + prev + "' there. Fix: restore the tokenizer file as saved by transformers");
            }
            putId(byId, id, content, f);
            boolean special = a.path("special").asBoolean(false);
            addedType.put(id, content.equals(unkToken) ? UNKNOWN : special ? CONTROL : USER_DEFINED);
        }
        int n = byId.size();
        for (int id = 0; id < n; id++) {
            if (!byId.containsKey(id)) {
                throw new BadInputException(f + ": the vocabulary's " + n + " ids skip id " + id + ". Fix: restore "
                        + "the tokenizer file as saved by transformers");
            }
        }
        boolean byteFallback = model.path("byte_fallback").asBoolean(false);
        int[] types = new int[n];
        int unkId = -1;
        for (int id = 0; id < n; id++) {
            String t = byId.get(id);
            Integer at = addedType.get(id);
            if (at != null) types[id] = at;
            else if (t.equals(unkToken)) types[id] = UNKNOWN;
            else if (byteFallback && t.matches("<0x[0-9A-F]{2}>")) types[id] = BYTE;
            else types[id] = NORMAL;
            if (types[id] == UNKNOWN && unkId < 0) unkId = id;
        }
        // first merge producing each piece
        Map<String, Integer> firstMerge = new HashMap<>();
        int rank = 0;
        for (JsonNode mg : model.path("merges")) {
            String merged;
            if (mg.isArray() && mg.size() == 2)
                merged = mg.get(0).asText() + mg.get(1).asText();
            else {
                String s = mg.asText();
                int sp = s.indexOf(' ');
                if (sp < 0) throw new BadInputException(f + ": merge " + rank + " '" + s + "' is not two pieces");
                merged = s.substring(0, sp) + s.substring(sp + 1);
            }
            firstMerge.putIfAbsent(merged, rank++);
        }
        Integer[] order = new Integer[n];
        int normal = 0;
        for (int id = 0; id < n; id++) if (types[id] == NORMAL) order[normal++] = id;
        Integer[] ranked = Arrays.copyOf(order, normal);
        Arrays.sort(ranked, (a, b) -> {
            int ra = firstMerge.getOrDefault(byId.get(a), Integer.MAX_VALUE);
            int rb = firstMerge.getOrDefault(byId.get(b), Integer.MAX_VALUE);
            return ra != rb ? Integer.compare(ra, rb) : Integer.compare(a, b);
        });
        float[] scores = new float[n];
        for (int k = 0; k < ranked.length; k++)
            scores[ranked[k]] = -(float) k; // -0.0 first, as SentencePiece writes it
        List<Piece> pieces = new ArrayList<>(n);
        for (int id = 0; id < n; id++) pieces.add(new Piece(byId.get(id), scores[id], types[id]));
        return new SentencePieceVocab(pieces, unkId, prependsSpace(root), false, f);
    }

    private static void putId(Map<Integer, String> byId, int id, String piece, Path f) {
        if (id < 0) throw new BadInputException(f + ": piece '" + piece + "' has no valid id");
        String prev = byId.put(id, piece);
        if (prev != null && !prev.equals(piece)) {
            throw new BadInputException(f + ": id " + id + " is both '" + prev + "' and '" + piece + "'. Fix: "
                    + "restore the tokenizer file as saved by transformers");
        }
    }

    /** Null when {@code root} is a SentencePiece-style BPE; else what differs. */
    private static String spmStyle(JsonNode root, JsonNode model) {
        if (!"BPE".equals(model.path("type").asText()))
            return "model type " + model.path("type").asText("?");
        String all =
                root.path("normalizer").toString() + root.path("pre_tokenizer").toString();
        if (all.contains("ByteLevel")) return "a byte-level (GPT-2 style) BPE";
        boolean metaspace = all.contains("Metaspace") || (all.contains("Replace") && all.contains(SPACE));
        if (!metaspace) return "no \"▁\" whitespace escaping";
        return null;
    }

    /** SentencePiece's add_dummy_prefix as the HF file expresses it: a Prepend("▁") normalizer or a Metaspace prefix. */
    private static boolean prependsSpace(JsonNode root) {
        for (JsonNode n : nodes(root.path("normalizer"))) {
            if ("Prepend".equals(n.path("type").asText())
                    && SPACE.equals(n.path("prepend").asText())) return true;
        }
        for (JsonNode n : nodes(root.path("pre_tokenizer"))) {
            if ("Metaspace".equals(n.path("type").asText())) {
                String scheme = n.path("prepend_scheme").asText(null);
                if (scheme != null) return !scheme.equals("never");
                return n.path("add_prefix_space").asBoolean(true);
            }
        }
        return false;
    }

    private static List<JsonNode> nodes(JsonNode n) {
        List<JsonNode> out = new ArrayList<>();
        if (n == null || n.isMissingNode() || n.isNull()) return out;
        out.add(n);
        for (String k : new String[] {"normalizers", "pretokenizers"})
            for (JsonNode c : n.path(k)) out.addAll(nodes(c));
        return out;
    }

    /** Number of pieces. */
    public int size() {
        return pieces.size();
    }
}
