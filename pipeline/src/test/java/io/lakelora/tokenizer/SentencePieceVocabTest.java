package io.lakelora.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.util.Assets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Scores derived from a tokenizer.json against real SentencePiece scores: llama2.c's tok512.bin (exported from the
 * SentencePiece model that stories260K-hf's tokenizer.json was converted from) and LLaMA-2's tokenizer.model.
 */
class SentencePieceVocabTest {
    @Test
    void derivedScoresEqualTheSentencePieceModelsOfStories260K() {
        SentencePieceVocab json = SentencePieceVocab.of(Assets.require("models/stories260K-hf"));
        SentencePieceVocab bin =
                SentencePieceVocab.ofLlama2c(Assets.require("models/stories260K-llama2c/tok512.bin"), 512);
        assertFalse(json.scoresFromModel());
        assertEquals(512, json.size());
        for (int i = 0; i < 512; i++) {
            assertEquals(bin.pieces().get(i), json.pieces().get(i), "piece " + i);
        }
        assertEquals(0, json.unkId());
        assertTrue(json.addDummyPrefix());
        assertEquals(SentencePieceVocab.CONTROL, json.pieces().get(1).type());
        assertEquals(SentencePieceVocab.BYTE, json.pieces().get(3).type());
    }

    /**
     * LLaMA-2's tokenizer.json (our conversion of tokenizer.model, which transformers' LlamaConverter reproduces) loses
     * the scores; the derived ones must rank every piece that a merge produces as the real scores do, which is all that
     * SentencePiece's and llama.cpp's merge order reads (single characters are never a merge's result).
     */
    @Test
    void derivedScoresRankMergedPiecesAsLlama2sModel() {
        Path model = Assets.require("tokenizers/llama2/tokenizer.model");
        SentencePieceVocab real = SentencePieceVocab.of(model);
        assertTrue(real.scoresFromModel());
        SentencePieceVocab derived =
                SentencePieceVocab.fromTokenizerJson(SentencePieceConverter.toTokenizerJson(model), model);
        assertEquals(real.size(), derived.size());
        List<SentencePieceVocab.Piece> r = real.pieces(), d = derived.pieces();
        int merged = 0;
        Integer prev = null;
        // walk the multi-character normal pieces in the real order (score desc, then id): derived scores never rise
        List<Integer> ids = new java.util.ArrayList<>();
        for (int i = 0; i < r.size(); i++) {
            assertEquals(r.get(i).text(), d.get(i).text(), "piece " + i);
            assertEquals(r.get(i).type(), d.get(i).type(), "type of piece " + i);
            if (r.get(i).type() == SentencePieceVocab.NORMAL
                    && r.get(i).text().codePointCount(0, r.get(i).text().length()) > 1) {
                ids.add(i);
            }
        }
        ids.sort((a, b) -> r.get(a).score() != r.get(b).score()
                ? Float.compare(r.get(b).score(), r.get(a).score())
                : Integer.compare(a, b));
        for (int id : ids) {
            if (prev != null && r.get(prev).score() != r.get(id).score()) {
                assertTrue(
                        d.get(prev).score() > d.get(id).score(),
                        "piece " + prev + " '" + r.get(prev).text() + "' outranks " + id + " '"
                                + r.get(id).text() + "' in tokenizer.model but not when derived");
            }
            prev = id;
            merged++;
        }
        assertTrue(merged > 29000, "multi-character pieces: " + merged);
    }

    @Test
    void mistralsTokenizerJsonIsASentencePieceVocabulary() {
        SentencePieceVocab v = SentencePieceVocab.of(Assets.require("tokenizers/mistral/tokenizer.json.gz"));
        assertEquals(32000, v.size());
        assertEquals(0, v.unkId());
        assertTrue(v.addDummyPrefix());
        assertEquals(SentencePieceVocab.CONTROL, v.pieces().get(1).type());
        assertEquals(
                new SentencePieceVocab.Piece("<0x0A>", 0f, SentencePieceVocab.BYTE),
                v.pieces().get(13));
        assertEquals("\u2581", v.pieces().get(28705).text()); // the README of the assets: "▁" is id 28705
    }

    @Test
    void byteLevelBpeIsNotASentencePieceVocabulary() {
        UnsupportedOperationException e = assertThrows(
                UnsupportedOperationException.class,
                () -> SentencePieceVocab.of(Assets.require("tokenizers/llama3/tokenizer.json.gz")));
        assertTrue(
                e.getMessage().contains("byte-level") && e.getMessage().contains("convert_hf_to_gguf.py"),
                e.getMessage());
    }
}
