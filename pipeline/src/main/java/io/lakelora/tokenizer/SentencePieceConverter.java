package io.lakelora.tokenizer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.lakelora.error.BadInputException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Converts a SentencePiece BPE {@code tokenizer.model} (LLaMA-1/2, Mistral, ...) into the Hugging Face
 * {@code tokenizer.json} that transformers' {@code LlamaConverter} produces, so the Rust tokenizer encodes exactly as
 * SentencePiece does: a BPE model over the pieces (ids = piece order) with {@code byte_fallback} as the model's
 * trainer_spec says, merges derived from the piece scores ({@code SentencePieceExtractor}: for every piece, each split
 * into two pieces of the vocabulary, ordered by the piece's score, highest first), a Prepend("▁") + Replace(" ", "▁")
 * normalizer (Prepend only with {@code add_dummy_prefix}), Replace/ByteFallback/Fuse/Strip decoders, the unknown and
 * control pieces as special added tokens, and a post-processor that adds the BOS piece. The protobuf is read by
 * {@link ProtoReader}; no SentencePiece library is needed.
 *
 * <p>Only what LLaMA-family models use is accepted: model_type BPE, the identity normalizer (or a precompiled
 * charsmap, passed through as HF's {@code Precompiled} normalizer), no whitespace collapsing; anything else is an
 * {@link UnsupportedOperationException} that says to use the model's tokenizer.json.
 */
public final class SentencePieceConverter {
    private static final String SPACE = "\u2581";
    /** Piece types (sentencepiece_model.proto); UNUSED = 5 and BYTE = 6 need no special handling. */
    private static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4;

    private static final int MODEL_BPE = 2;

    private SentencePieceConverter() {}

    /** One piece of the model. */
    record Piece(String piece, float score, int type) {}

    /** The parts of ModelProto the conversion needs. */
    record Model(
            List<Piece> pieces,
            int modelType,
            boolean byteFallback,
            int unkId,
            int bosId,
            int eosId,
            String normalizerName,
            byte[] charsmap,
            boolean addDummyPrefix,
            boolean removeExtraWhitespaces,
            boolean escapeWhitespaces) {}

    /** A conversion: the tokenizer.json bytes and the model's BOS/EOS pieces (null when the model has none). */
    public record Converted(byte[] tokenizerJson, String bosPiece, String eosPiece) {}

    /** The tokenizer.json bytes equivalent to the SentencePiece model file. */
    public static byte[] toTokenizerJson(Path modelFile) {
        return convert(modelFile).tokenizerJson();
    }

    /** Converts the SentencePiece model file; see the class doc. */
    public static Converted convert(Path modelFile) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(modelFile);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + modelFile, e);
        }
        Model m;
        try {
            m = parse(bytes);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(
                    "SentencePiece model " + modelFile + " is not a valid ModelProto (" + e.getMessage()
                            + "). Fix: point at the model's tokenizer.model or tokenizer.json",
                    e);
        }
        if (m.pieces.isEmpty()) {
            throw new BadInputException("SentencePiece model " + modelFile
                    + " has no pieces. Fix: point at the model's " + "tokenizer.model or tokenizer.json");
        }
        check(m, modelFile);
        return new Converted(
                toJson(m),
                m.bosId >= 0 ? m.pieces.get(m.bosId).piece : null,
                m.eosId >= 0 ? m.pieces.get(m.eosId).piece : null);
    }

    static Model parse(byte[] bytes) {
        List<Piece> pieces = new ArrayList<>();
        int modelType = 1; // UNIGRAM is the proto default
        boolean byteFallback = false;
        int unk = 0, bos = 1, eos = 2;
        String normName = "nmt_nfkc";
        byte[] charsmap = new byte[0];
        boolean dummy = true, removeWs = true, escapeWs = true;
        ProtoReader r = new ProtoReader(bytes);
        while (r.next()) {
            switch (r.field()) {
                case 1 -> pieces.add(piece(r.message()));
                case 2 -> {
                    ProtoReader t = r.message();
                    while (t.next()) {
                        switch (t.field()) {
                            case 3 -> modelType = t.int32();
                            case 35 -> byteFallback = t.bool();
                            case 40 -> unk = t.int32();
                            case 41 -> bos = t.int32();
                            case 42 -> eos = t.int32();
                            default -> t.skip();
                        }
                    }
                }
                case 3 -> {
                    ProtoReader n = r.message();
                    while (n.next()) {
                        switch (n.field()) {
                            case 1 -> normName = n.string();
                            case 2 -> charsmap = n.bytes();
                            case 3 -> dummy = n.bool();
                            case 4 -> removeWs = n.bool();
                            case 5 -> escapeWs = n.bool();
                            default -> n.skip();
                        }
                    }
                }
                default -> r.skip();
            }
        }
        return new Model(pieces, modelType, byteFallback, unk, bos, eos, normName, charsmap, dummy, removeWs, escapeWs);
    }

    private static Piece piece(ProtoReader r) {
        String s = null;
        float score = 0;
        int type = NORMAL;
        while (r.next()) {
            switch (r.field()) {
                case 1 -> s = r.string();
                case 2 -> score = r.float32();
                case 3 -> type = r.int32();
                default -> r.skip();
            }
        }
        if (s == null) throw new IllegalArgumentException("a piece has no text");
        return new Piece(s, score, type);
    }

    private static void check(Model m, Path file) {
        String fix = ". Fix: use the model's tokenizer.json (transformers saves one with save_pretrained)";
        if (m.modelType != MODEL_BPE) {
            throw new UnsupportedOperationException("SentencePiece model " + file + " has model_type "
                    + (m.modelType == 1 ? "UNIGRAM" : String.valueOf(m.modelType))
                    + "; only BPE (LLaMA/Mistral) is converted" + fix);
        }
        if (m.removeExtraWhitespaces) {
            throw new UnsupportedOperationException("SentencePiece model " + file + " collapses whitespace "
                    + "(remove_extra_whitespaces=true), which the LLaMA conversion does not reproduce" + fix);
        }
        if (!m.escapeWhitespaces) {
            throw new UnsupportedOperationException(
                    "SentencePiece model " + file + " has escape_whitespaces=false" + fix);
        }
        if (!m.normalizerName.equals("identity") && m.charsmap.length == 0) {
            throw new UnsupportedOperationException("SentencePiece model " + file + " uses normalizer '"
                    + m.normalizerName + "' without a precompiled charsmap" + fix);
        }
        for (int id : new int[] {m.unkId, m.bosId, m.eosId}) {
            if (id >= m.pieces.size()) {
                throw new BadInputException("SentencePiece model " + file + ": special id " + id + " is outside the "
                        + m.pieces.size() + " pieces" + fix);
            }
        }
    }

    /** transformers' SentencePieceExtractor.extract(vocab_scores): merges ordered by the merged piece's score. */
    static List<String[]> merges(List<Piece> pieces) {
        Map<String, Integer> vocab = new HashMap<>(pieces.size() * 2);
        for (int i = 0; i < pieces.size(); i++) vocab.putIfAbsent(pieces.get(i).piece, i);
        record Merge(String left, String right, float score, int order) {}
        List<Merge> all = new ArrayList<>();
        for (Piece p : pieces) {
            String s = p.piece;
            List<Merge> local = new ArrayList<>();
            // split between code points (Python slices strings by code point)
            for (int i = s.offsetByCodePoints(0, 1); i < s.length(); i = s.offsetByCodePoints(i, 1)) {
                String l = s.substring(0, i), r = s.substring(i);
                if (vocab.containsKey(l) && vocab.containsKey(r)) local.add(new Merge(l, r, p.score, 0));
            }
            local.sort(
                    Comparator.comparingInt((Merge x) -> vocab.get(x.left)).thenComparingInt(x -> vocab.get(x.right)));
            for (Merge x : local) all.add(new Merge(x.left, x.right, x.score, all.size()));
        }
        // sorted(..., key=score, reverse=True) is stable: equal scores keep their order
        all.sort(Comparator.comparingDouble((Merge x) -> -x.score).thenComparingInt(x -> x.order));
        List<String[]> out = new ArrayList<>(all.size());
        for (Merge x : all) out.add(new String[] {x.left, x.right});
        return out;
    }

    static byte[] toJson(Model m) {
        ByteArrayOutputStream bos = new ByteArrayOutputStream(1 << 20);
        try (JsonGenerator g = new JsonFactory().createGenerator(bos)) {
            g.writeStartObject();
            g.writeStringField("version", "1.0");
            g.writeNullField("truncation");
            g.writeNullField("padding");
            g.writeArrayFieldStart("added_tokens");
            for (int i = 0; i < m.pieces.size(); i++) {
                Piece p = m.pieces.get(i);
                if (p.type == UNKNOWN || p.type == CONTROL || p.type == USER_DEFINED) {
                    g.writeStartObject();
                    g.writeNumberField("id", i);
                    g.writeStringField("content", p.piece);
                    g.writeBooleanField("single_word", false);
                    g.writeBooleanField("lstrip", false);
                    g.writeBooleanField("rstrip", false);
                    g.writeBooleanField("normalized", false);
                    g.writeBooleanField("special", p.type != USER_DEFINED);
                    g.writeEndObject();
                }
            }
            g.writeEndArray();
            // normalizer
            g.writeObjectFieldStart("normalizer");
            g.writeStringField("type", "Sequence");
            g.writeArrayFieldStart("normalizers");
            if (!m.normalizerName.equals("identity")) {
                g.writeStartObject();
                g.writeStringField("type", "Precompiled");
                g.writeStringField("precompiled_charsmap", Base64.getEncoder().encodeToString(m.charsmap));
                g.writeEndObject();
            }
            if (m.addDummyPrefix) {
                g.writeStartObject();
                g.writeStringField("type", "Prepend");
                g.writeStringField("prepend", SPACE);
                g.writeEndObject();
            }
            replace(g, " ", SPACE);
            g.writeEndArray();
            g.writeEndObject();
            g.writeNullField("pre_tokenizer");
            // post_processor: BOS before the sequence, as LlamaTokenizer(Fast) with add_bos_token=true
            if (m.bosId >= 0) {
                String bosPiece = m.pieces.get(m.bosId).piece;
                g.writeObjectFieldStart("post_processor");
                g.writeStringField("type", "TemplateProcessing");
                g.writeArrayFieldStart("single");
                special(g, bosPiece, 0);
                sequence(g, "A", 0);
                g.writeEndArray();
                g.writeArrayFieldStart("pair");
                special(g, bosPiece, 0);
                sequence(g, "A", 0);
                special(g, bosPiece, 1);
                sequence(g, "B", 1);
                g.writeEndArray();
                g.writeObjectFieldStart("special_tokens");
                g.writeObjectFieldStart(bosPiece);
                g.writeStringField("id", bosPiece);
                g.writeArrayFieldStart("ids");
                g.writeNumber(m.bosId);
                g.writeEndArray();
                g.writeArrayFieldStart("tokens");
                g.writeString(bosPiece);
                g.writeEndArray();
                g.writeEndObject();
                g.writeEndObject();
                g.writeEndObject();
            } else {
                g.writeNullField("post_processor");
            }
            // decoder
            g.writeObjectFieldStart("decoder");
            g.writeStringField("type", "Sequence");
            g.writeArrayFieldStart("decoders");
            replace(g, SPACE, " ");
            g.writeStartObject();
            g.writeStringField("type", "ByteFallback");
            g.writeEndObject();
            g.writeStartObject();
            g.writeStringField("type", "Fuse");
            g.writeEndObject();
            if (m.addDummyPrefix) {
                g.writeStartObject();
                g.writeStringField("type", "Strip");
                g.writeStringField("content", " ");
                g.writeNumberField("start", 1);
                g.writeNumberField("stop", 0);
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
            // model
            g.writeObjectFieldStart("model");
            g.writeStringField("type", "BPE");
            g.writeNullField("dropout");
            g.writeStringField("unk_token", m.pieces.get(m.unkId).piece);
            g.writeNullField("continuing_subword_prefix");
            g.writeNullField("end_of_word_suffix");
            g.writeBooleanField("fuse_unk", true);
            g.writeBooleanField("byte_fallback", m.byteFallback);
            g.writeBooleanField("ignore_merges", false);
            g.writeObjectFieldStart("vocab");
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (int i = 0; i < m.pieces.size(); i++) {
                if (seen.add(m.pieces.get(i).piece)) g.writeNumberField(m.pieces.get(i).piece, i);
            }
            g.writeEndObject();
            g.writeArrayFieldStart("merges");
            for (String[] mg : merges(m.pieces)) {
                g.writeStartArray();
                g.writeString(mg[0]);
                g.writeString(mg[1]);
                g.writeEndArray();
            }
            g.writeEndArray();
            g.writeEndObject();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bos.toByteArray();
    }

    private static void replace(JsonGenerator g, String from, String to) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", "Replace");
        g.writeObjectFieldStart("pattern");
        g.writeStringField("String", from);
        g.writeEndObject();
        g.writeStringField("content", to);
        g.writeEndObject();
    }

    private static void special(JsonGenerator g, String id, int typeId) throws IOException {
        g.writeStartObject();
        g.writeObjectFieldStart("SpecialToken");
        g.writeStringField("id", id);
        g.writeNumberField("type_id", typeId);
        g.writeEndObject();
        g.writeEndObject();
    }

    private static void sequence(JsonGenerator g, String id, int typeId) throws IOException {
        g.writeStartObject();
        g.writeObjectFieldStart("Sequence");
        g.writeStringField("id", id);
        g.writeNumberField("type_id", typeId);
        g.writeEndObject();
        g.writeEndObject();
    }
}
