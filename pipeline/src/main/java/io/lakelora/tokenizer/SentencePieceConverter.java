package io.lakelora.tokenizer;

import java.nio.file.Path;

/** Converts a SentencePiece {@code tokenizer.model} to an equivalent Hugging Face tokenizer.json. */
public final class SentencePieceConverter {
    private SentencePieceConverter() {}

    /** The tokenizer.json bytes equivalent to the SentencePiece model at {@code model}. */
    public static byte[] toTokenizerJson(Path model) {
        throw new UnsupportedOperationException("SentencePiece tokenizer.model (" + model + ") is not supported yet. "
                + "Fix: pass the model's tokenizer.json");
    }
}
