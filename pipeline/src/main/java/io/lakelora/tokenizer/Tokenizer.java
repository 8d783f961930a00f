package io.lakelora.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import io.lakelora.error.BadInputException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A Hugging Face tokenizer (the Rust {@code tokenizers} library through DJL, bundled native library, fully offline)
 * plus the special-token facts a training pipeline needs: BOS/EOS/PAD ids, the chat template, the vocabulary.
 *
 * <p>{@link #load(Path)} takes a model directory in HF layout or a single tokenizer file:
 * {@code tokenizer.json}, {@code tokenizer.json.gz}, or a SentencePiece {@code tokenizer.model} (converted in memory
 * by {@link SentencePieceConverter}, as transformers' {@code LlamaConverter} does). Companion files beside it are read
 * when present: {@code tokenizer_config.json} (bos/eos/pad tokens, {@code add_bos_token}/{@code add_eos_token},
 * {@code chat_template}, {@code clean_up_tokenization_spaces}), {@code generation_config.json} and {@code config.json}
 * (extra EOS ids), {@code chat_template.jinja}.
 *
 * <p><b>Special tokens on encode</b> follow what transformers' {@code AutoTokenizer} does: for the Llama-style
 * tokenizer classes ({@code LlamaTokenizer[Fast]}, {@code CodeLlamaTokenizer[Fast]}, {@code GemmaTokenizer[Fast]})
 * transformers rebuilds the post-processor from {@code add_bos_token} (default true) and {@code add_eos_token} (default
 * false), so this class does the same; for every other class the {@code post_processor} of tokenizer.json decides.
 *
 * <p><b>PAD</b>: {@link #padId()} is the tokenizer_config {@code pad_token} and nothing else (as transformers'
 * {@code tokenizer.pad_token_id}); it is -1 when the tokenizer has none, and it is never derived from EOS. Some models
 * do set their pad token to an EOS token on purpose (Qwen2's {@code <|endoftext|>}); {@link #padIsEos()} tells, and a
 * warning is logged at load, because masking "every pad id" would then also mask the real EOS.
 *
 * <p><b>Threads</b>: encode/decode and the accessors are safe to call from many threads at once (the Rust tokenizer
 * is immutable and {@code Sync}); {@link #close()} must not race with them (afterwards they throw
 * {@link IllegalStateException}).
 */
public final class Tokenizer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Tokenizer.class.getName());
    /** transformers classes whose constructor rebuilds the post-processor from add_bos_token / add_eos_token. */
    private static final Set<String> FLAG_DRIVEN_CLASSES = Set.of(
            "LlamaTokenizer",
            "LlamaTokenizerFast",
            "CodeLlamaTokenizer",
            "CodeLlamaTokenizerFast",
            "GemmaTokenizer",
            "GemmaTokenizerFast");
    /** DJL options: no truncation, no padding (DJL otherwise may cap at a default max length). */
    private static final Map<String, String> DJL_OPTIONS =
            Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "false");

    private final Path source;
    private final HuggingFaceTokenizer hf;
    private final Vocab vocab;
    private final String bosToken;
    private final String eosToken;
    private final String padToken;
    private final int bosId;
    private final int eosId;
    private final int[] eosIds;
    private final int padId;
    /** Non-null: add BOS/EOS ourselves from these flags; null: the file's post-processor decides. */
    private final Boolean addBos;

    private final Boolean addEos;
    private final boolean cleanUpSpaces;
    private final String chatTemplate;
    private volatile boolean closed;

    private Tokenizer(
            Path source,
            HuggingFaceTokenizer hf,
            Vocab vocab,
            JsonNode tc,
            JsonNode gc,
            JsonNode mc,
            String chatTemplateFile,
            String defaultBos,
            String defaultEos) {
        this.source = source;
        this.hf = hf;
        this.vocab = vocab;
        this.bosToken = specialToken(tc, "bos_token", gc, mc, "bos_token_id", defaultBos);
        this.eosToken = specialToken(tc, "eos_token", gc, mc, "eos_token_id", defaultEos);
        this.padToken = tokenText(tc.get("pad_token"));
        this.bosId = bosToken == null ? -1 : idOf(bosToken, "bos_token");
        this.eosId = eosToken == null ? -1 : idOf(eosToken, "eos_token");
        this.padId = padToken == null ? -1 : idOf(padToken, "pad_token");
        LinkedHashSet<Integer> eos = new LinkedHashSet<>();
        if (eosId >= 0) eos.add(eosId);
        JsonNode extra = gc.has("eos_token_id") ? gc.get("eos_token_id") : mc.get("eos_token_id");
        if (extra != null && extra.isInt()) eos.add(checkedId(extra.intValue(), "eos_token_id"));
        if (extra != null && extra.isArray()) for (JsonNode e : extra) eos.add(checkedId(e.intValue(), "eos_token_id"));
        this.eosIds = eos.stream().mapToInt(Integer::intValue).toArray();
        String cls = tc.path("tokenizer_class").asText("");
        if (FLAG_DRIVEN_CLASSES.contains(cls)) {
            this.addBos = tc.path("add_bos_token").asBoolean(true);
            this.addEos = tc.path("add_eos_token").asBoolean(false);
        } else {
            this.addBos = null;
            this.addEos = null;
        }
        this.cleanUpSpaces = tc.path("clean_up_tokenization_spaces").asBoolean(false);
        this.chatTemplate = chatTemplate(tc.get("chat_template"), chatTemplateFile);
        if (padId >= 0 && padIsEos()) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "tokenizer " + source + ": pad_token '" + padToken + "' (id " + padId
                            + ") is also an EOS id; mask padding by position/length, not by comparing ids with padId()");
        }
    }

    /**
     * Loads a tokenizer from a model directory (tokenizer.json, tokenizer.json.gz or tokenizer.model plus companions)
     * or from one tokenizer file. Errors name the path and what to put there.
     */
    public static Tokenizer load(Path modelDirOrTokenizerJson) {
        Objects.requireNonNull(modelDirOrTokenizerJson, "modelDirOrTokenizerJson");
        TokenizerFiles files = TokenizerFiles.locate(modelDirOrTokenizerJson);
        byte[] json;
        String defaultBos = null;
        String defaultEos = null;
        if (files.tokenizer().getFileName().toString().endsWith(".model")) {
            SentencePieceConverter.Converted c = SentencePieceConverter.convert(files.tokenizer());
            json = c.tokenizerJson();
            defaultBos = c.bosPiece();
            defaultEos = c.eosPiece();
        } else {
            json = TokenizerFiles.readMaybeGzip(files.tokenizer());
        }
        String label = files.tokenizer().toString();
        Vocab vocab = Vocab.parse(json, label);
        JsonNode tc = TokenizerFiles.readJson(files.tokenizerConfig());
        JsonNode gc = TokenizerFiles.readJson(files.generationConfig());
        JsonNode mc = TokenizerFiles.readJson(files.modelConfig());
        String templateFile = null;
        if (files.chatTemplate() != null) {
            try {
                templateFile = Files.readString(files.chatTemplate(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException("reading " + files.chatTemplate(), e);
            }
        }
        HuggingFaceTokenizer hf;
        try {
            hf = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), DJL_OPTIONS);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + label, e);
        } catch (RuntimeException e) {
            throw new BadInputException(
                    "tokenizer " + label + ": the tokenizers library rejected it (" + e.getMessage()
                            + "). Fix: point at a tokenizer.json saved by a recent transformers/tokenizers",
                    e);
        }
        try {
            return new Tokenizer(files.tokenizer(), hf, vocab, tc, gc, mc, templateFile, defaultBos, defaultEos);
        } catch (RuntimeException e) {
            hf.close();
            throw e;
        }
    }

    /** Token ids of {@code text}; with {@code addSpecialTokens} the BOS/EOS the tokenizer adds (see class doc). */
    public int[] encode(String text, boolean addSpecialTokens) {
        Objects.requireNonNull(text, "text");
        ensureOpen();
        boolean nativeSpecials = addSpecialTokens && addBos == null;
        long[] ids = hf.encode(text, nativeSpecials, false).getIds();
        boolean bos = addSpecialTokens && addBos != null && addBos && bosId >= 0;
        boolean eos = addSpecialTokens && addEos != null && addEos && eosId >= 0;
        int[] out = new int[ids.length + (bos ? 1 : 0) + (eos ? 1 : 0)];
        int o = 0;
        if (bos) out[o++] = bosId;
        for (long id : ids) out[o++] = Math.toIntExact(id);
        if (eos) out[o] = eosId;
        return out;
    }

    /**
     * Text of {@code ids}; {@code skipSpecialTokens} drops special added tokens. Applies transformers'
     * {@code clean_up_tokenization_spaces} when tokenizer_config.json turns it on (" ," -> "," etc.).
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        Objects.requireNonNull(ids, "ids");
        ensureOpen();
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocab.idToToken.length || vocab.idToToken[ids[i]] == null) {
                throw new IllegalArgumentException("decode: id " + ids[i] + " at position " + i + " is not in the "
                        + "vocabulary of " + source + " (size " + vocabSize() + ")");
            }
            l[i] = ids[i];
        }
        String s = ids.length == 0 ? "" : hf.decode(l, skipSpecialTokens);
        return cleanUpSpaces ? cleanUpTokenizationSpaces(s) : s;
    }

    /** transformers' {@code clean_up_tokenization}: removes the space before punctuation and English contractions. */
    static String cleanUpTokenizationSpaces(String s) {
        return s.replace(" .", ".")
                .replace(" ?", "?")
                .replace(" !", "!")
                .replace(" ,", ",")
                .replace(" ' ", "'")
                .replace(" n't", "n't")
                .replace(" 'm", "'m")
                .replace(" 's", "'s")
                .replace(" 've", "'ve")
                .replace(" 're", "'re");
    }

    /** BOS id, or -1 when the tokenizer has none. */
    public int bosId() {
        return bosId;
    }

    /** The tokenizer's EOS id (tokenizer_config {@code eos_token}), or -1 when it has none. */
    public int eosId() {
        return eosId;
    }

    /**
     * Every id that ends generation: {@link #eosId()} first, then generation_config.json's (else config.json's)
     * {@code eos_token_id} (an int or a list), deduplicated; empty when none.
     */
    public int[] eosIds() {
        return eosIds.clone();
    }

    /** PAD id from tokenizer_config {@code pad_token}, or -1. Never derived from EOS (see class doc). */
    public int padId() {
        return padId;
    }

    /** True when a pad token is configured and it is one of {@link #eosIds()}. */
    public boolean padIsEos() {
        if (padId < 0) return false;
        for (int e : eosIds) if (e == padId) return true;
        return false;
    }

    /** Number of ids (largest id + 1 over the vocabulary and the added tokens, as {@code len(tokenizer)}). */
    public int vocabSize() {
        return vocab.idToToken.length;
    }

    /**
     * The chat template: tokenizer_config {@code chat_template} (a string, or the named-list form, where the
     * "default" entry, else the first, is used), else {@code chat_template.jinja} beside the tokenizer.
     */
    public Optional<String> chatTemplate() {
        return Optional.ofNullable(chatTemplate);
    }

    /** BOS token text, or null when there is none ({@link #bosId()} == -1). */
    public String bosToken() {
        return bosToken;
    }

    /** EOS token text, or null when there is none ({@link #eosId()} == -1). */
    public String eosToken() {
        return eosToken;
    }

    /** PAD token text, or null when there is none. */
    public String padToken() {
        return padToken;
    }

    /** The vocabulary string of {@code id} (e.g. "▁the", "Ġthe", "<0x0A>", "<s>"). */
    public String tokenToString(int id) {
        if (id < 0 || id >= vocab.idToToken.length || vocab.idToToken[id] == null) {
            throw new IllegalArgumentException(
                    "token id " + id + " is not in the vocabulary of " + source + " (size " + vocabSize() + ")");
        }
        return vocab.idToToken[id];
    }

    /** The id of a vocabulary string (or added token), or -1 when it has none. */
    public int tokenId(String token) {
        Integer id = vocab.tokenToId.get(token);
        return id == null ? -1 : id;
    }

    /** True for added tokens flagged special (BOS, EOS, chat markers such as {@code <|eot_id|>}). */
    public boolean isSpecial(int id) {
        return vocab.specialIds.contains(id);
    }

    /** The tokenizer file this was loaded from. */
    public Path source() {
        return source;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            hf.close();
        }
    }

    @Override
    public String toString() {
        return "Tokenizer[" + source + ", vocab " + vocabSize() + ", bos " + bosId + ", eos " + Arrays.toString(eosIds)
                + ", pad " + padId + "]";
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("tokenizer " + source + " is closed");
    }

    private int idOf(String token, String key) {
        Integer id = vocab.tokenToId.get(token);
        if (id == null) {
            throw new BadInputException(
                    "tokenizer " + source + ": " + key + " '" + token + "' from tokenizer_config.json "
                            + "is not in the vocabulary. Fix: make tokenizer_config.json match tokenizer.json");
        }
        return id;
    }

    private int checkedId(int id, String key) {
        if (id < 0 || id >= vocab.idToToken.length) {
            throw new BadInputException("tokenizer " + source + ": " + key + " " + id + " (generation_config.json or "
                    + "config.json) is outside the vocabulary (size " + vocab.idToToken.length + "). Fix: correct it");
        }
        return id;
    }

    /**
     * tokenizer_config's token text, else the token of generation_config / config.json's id, else the SentencePiece
     * model's piece ({@code fallback}).
     */
    private String specialToken(JsonNode tc, String key, JsonNode gc, JsonNode mc, String idKey, String fallback) {
        if (tc.has(key)) return tokenText(tc.get(key)); // explicit, even when null ("no such token")
        JsonNode id = gc.has(idKey) ? gc.get(idKey) : mc.get(idKey);
        if (id != null && id.isArray() && id.size() > 0) id = id.get(0);
        if (id == null || !id.isInt()) return fallback;
        return vocab.idToToken[checkedId(id.intValue(), idKey)];
    }

    /** A token given as a string or as an AddedToken object {"content": ...}; null for null/absent. */
    private static String tokenText(JsonNode n) {
        if (n == null || n.isNull()) return null;
        if (n.isTextual()) return n.textValue();
        if (n.isObject() && n.get("content") != null && n.get("content").isTextual())
            return n.get("content").textValue();
        throw new BadInputException("tokenizer_config.json: a special token is " + n + "; expected a string or "
                + "{\"content\": \"...\"}. Fix: correct tokenizer_config.json");
    }

    private static String chatTemplate(JsonNode n, String fromFile) {
        if (n == null || n.isNull()) return fromFile;
        if (n.isTextual()) return n.textValue();
        if (n.isArray() && n.size() > 0) {
            for (JsonNode e : n)
                if ("default".equals(e.path("name").asText()))
                    return e.path("template").asText();
            return n.get(0).path("template").asText();
        }
        throw new BadInputException("tokenizer_config.json: chat_template is " + n.getNodeType()
                + "; expected a string " + "or a list of {name, template}. Fix: correct tokenizer_config.json");
    }
}
