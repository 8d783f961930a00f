package io.lakelora.tokenizer;

import io.lakelora.error.BadInputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A llama2.c tokenizer file ({@code tokenizer.bin}, {@code tok512.bin}: what llama2.c's {@code tokenizer.py export}
 * writes from a SentencePiece model) turned back into the SentencePiece BPE model it came from, then into the HF
 * {@code tokenizer.json} by {@link SentencePieceConverter}. The file is {@code uint32 max_token_length}, then per id
 * {@code float32 score, int32 length, length UTF-8 bytes}. The export wrote every piece with "▁" replaced by " ", BOS
 * as {@code "\n<s>\n"} and EOS as {@code "\n</s>\n"}; this undoes exactly that. Piece types follow from the text:
 * {@code <unk>} is UNKNOWN, BOS/EOS are CONTROL, {@code <0xNN>} are BYTE (and switch on byte_fallback), the rest
 * NORMAL.
 * The SentencePiece settings the export dropped are the ones llama2.c's {@code train_vocab.sh} trains with (BPE,
 * identity normalizer, add_dummy_prefix, no whitespace collapsing).
 */
public final class Llama2cVocab {
    private static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, BYTE = 6, MODEL_BPE = 2;
    private static final String BOS_EXPORTED = "\n<s>\n", EOS_EXPORTED = "\n</s>\n";

    private Llama2cVocab() {}

    /** A conversion: the tokenizer.json bytes and the special pieces with their ids. */
    public record Converted(
            byte[] tokenizerJson, String unkPiece, String bosPiece, int bosId, String eosPiece, int eosId) {}

    /**
     * The tokenizer.json for the llama2.c tokenizer file {@code file}, which must hold exactly {@code vocabSize}
     * pieces (the model's vocab_size).
     */
    public static Converted convert(Path file, int vocabSize) {
        SentencePieceConverter.Model m = read(file, vocabSize);
        return new Converted(
                SentencePieceConverter.toJson(m),
                m.pieces().get(m.unkId()).piece(),
                m.pieces().get(m.bosId()).piece(),
                m.bosId(),
                m.pieces().get(m.eosId()).piece(),
                m.eosId());
    }

    static SentencePieceConverter.Model read(Path file, int vocabSize) {
        String fix = ". Fix: point at the tokenizer .bin that llama2.c's tokenizer.py export wrote for this model";
        ByteBuffer b;
        try {
            b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UncheckedIOException("reading llama2.c tokenizer " + file, e);
        }
        List<SentencePieceConverter.Piece> pieces = new ArrayList<>(vocabSize);
        int unk = -1, bos = -1, eos = -1;
        boolean bytePieces = false;
        try {
            int maxLen = b.getInt();
            while (b.hasRemaining()) {
                float score = b.getFloat();
                int len = b.getInt();
                if (len < 0 || len > maxLen || len > b.remaining()) {
                    throw new BadInputException("llama2.c tokenizer " + file + ": piece " + pieces.size()
                            + " has length " + len + ", expected 0.." + Math.min(maxLen, b.remaining())
                            + " (max_token_length " + maxLen + ")" + fix);
                }
                byte[] raw = new byte[len];
                b.get(raw);
                String text = utf8(raw, file, pieces.size(), fix);
                int id = pieces.size(), type = NORMAL;
                if (text.equals(BOS_EXPORTED)) {
                    text = "<s>";
                    type = CONTROL;
                    bos = id;
                } else if (text.equals(EOS_EXPORTED)) {
                    text = "</s>";
                    type = CONTROL;
                    eos = id;
                } else if (text.equals("<unk>")) {
                    type = UNKNOWN;
                    unk = id;
                } else if (text.matches("<0x[0-9A-F]{2}>")) {
                    type = BYTE;
                    bytePieces = true;
                } else {
                    text = text.replace(' ', '\u2581');
                }
                pieces.add(new SentencePieceConverter.Piece(text, score, type));
            }
        } catch (BufferUnderflowException e) {
            throw new BadInputException("llama2.c tokenizer " + file + " ends inside piece " + pieces.size() + fix, e);
        }
        if (pieces.size() != vocabSize) {
            throw new BadInputException("llama2.c tokenizer " + file + " has " + pieces.size() + " pieces, expected "
                    + "the model's vocab_size " + vocabSize + fix);
        }
        if (unk < 0 || bos < 0 || eos < 0) {
            String missing = unk < 0 ? "<unk>" : bos < 0 ? "BOS (\"\\n<s>\\n\")" : "EOS (\"\\n</s>\\n\")";
            throw new BadInputException("llama2.c tokenizer " + file + " lacks " + missing
                    + ", which tokenizer.py export always writes" + fix);
        }
        return new SentencePieceConverter.Model(
                pieces, MODEL_BPE, bytePieces, unk, bos, eos, "identity", new byte[0], true, false, true);
    }

    private static String utf8(byte[] raw, Path file, int id, String fix) {
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new BadInputException(
                    "llama2.c tokenizer " + file + ": piece " + id + " is not valid UTF-8" + fix, e);
        }
    }
}
