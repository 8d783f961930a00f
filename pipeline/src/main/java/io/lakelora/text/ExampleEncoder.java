package io.lakelora.text;

import io.lakelora.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Turns a training document into token ids and labels with the model's tokenizer.
 * <ul>
 *   <li>Plain text (continued pretraining): {@code encode(text, addSpecialTokens=true)} (BOS as the tokenizer adds it),
 *       every token trained.</li>
 *   <li>Conversations (chat or instruction rows): rendered with the chat template
 *       ({@link ChatTemplate#renderForTraining}), encoded once without added special tokens (the template writes BOS
 *       itself, as transformers' {@code apply_chat_template(tokenize=True)} does); labels are -100 on every token
 *       before an assistant span, unless {@code trainOnInputs}. A span starts at the first token where the encoding of
 *       the text up to the span differs from the full encoding (a token that straddles the boundary is trained).</li>
 *   <li>EOS: appended unless the sequence already ends with an EOS id (ignoring trailing whitespace tokens, e.g. the
 *       newline after Qwen's {@code <|im_end|>}); it is trained whenever the last trained span reaches the end, so
 *       the model learns to stop.</li>
 * </ul>
 * Thread-safe when the tokenizer is (it is).
 */
public final class ExampleEncoder {
    private final Tokenizer tokenizer;
    private final ChatTemplate template;
    private final boolean trainOnInputs;
    private final Map<String, String> specialTokens;
    private final int eosId;
    private final int[] eosIds;

    /** An encoded document: ids and labels of equal length, how many tokens are masked, and how. */
    public record Encoded(int[] inputIds, int[] labels, int maskedTokens, String maskMode) {}

    public ExampleEncoder(Tokenizer tokenizer, ChatTemplate template, boolean trainOnInputs) {
        this.tokenizer = tokenizer;
        this.template = template;
        this.trainOnInputs = trainOnInputs;
        this.eosId = tokenizer.eosId();
        this.eosIds = tokenizer.eosIds();
        if (eosId < 0) {
            throw new IllegalArgumentException("tokenizer " + tokenizer.source() + " has no eos_token, so training "
                    + "examples cannot end with EOS. Fix: set eos_token in its tokenizer_config.json");
        }
        this.specialTokens = ChatTemplate.specialTokens(
                tokenizer.bosToken(),
                tokenizer.eosToken(),
                tokenizer.tokenId("<unk>") >= 0 ? "<unk>" : null,
                tokenizer.padToken());
    }

    public ChatTemplate template() {
        return template;
    }

    /** A continued-pretraining document. */
    public Encoded encodeText(String text) {
        int[] ids = tokenizer.encode(text, true);
        if (endsWithEos(ids)) return new Encoded(ids, ids.clone(), 0, "text");
        int[] withEos = Arrays.copyOf(ids, ids.length + 1);
        withEos[ids.length] = eosId;
        return new Encoded(withEos, withEos.clone(), 0, "text");
    }

    /** A conversation; throws {@link ChatTemplate.TemplateException} when the template cannot render it. */
    public Encoded encodeChat(List<ChatMessage> messages) {
        ChatTemplate.Rendered r = template.renderForTraining(messages, specialTokens);
        String text = r.text();
        int[] ids = tokenizer.encode(text, false);
        int[] labels = new int[ids.length];
        Arrays.fill(labels, Packing.IGNORE);
        boolean lastSpanAtEnd = false;
        for (int[] span : r.trainSpans()) {
            int from = commonPrefix(tokenizer.encode(text.substring(0, span[0]), false), ids);
            int to = span[1] >= text.length()
                    ? ids.length
                    : commonPrefix(tokenizer.encode(text.substring(0, span[1]), false), ids);
            for (int i = from; i < to; i++) labels[i] = ids[i];
            lastSpanAtEnd = span[1] >= text.length();
        }
        if (trainOnInputs) labels = ids.clone();
        if (!endsWithEos(ids)) {
            ids = Arrays.copyOf(ids, ids.length + 1);
            labels = Arrays.copyOf(labels, labels.length + 1);
            ids[ids.length - 1] = eosId;
            labels[labels.length - 1] = lastSpanAtEnd || trainOnInputs ? eosId : Packing.IGNORE;
        }
        int masked = 0;
        for (int l : labels) if (l == Packing.IGNORE) masked++;
        return new Encoded(ids, labels, masked, trainOnInputs ? "train_on_inputs" : r.maskMode());
    }

    /** The id padding uses: {@code configured} when >= 0, else the tokenizer's pad, else its unk token; never EOS. */
    public static int padId(Tokenizer tokenizer, int configured) {
        if (configured >= 0) {
            if (isIn(configured, tokenizer.eosIds())) {
                throw new IllegalArgumentException("pack.pad_token_id " + configured + " is an EOS id of "
                        + tokenizer.source() + "; padding with EOS would mask the stop token. Fix: choose another id");
            }
            return configured;
        }
        int pad = tokenizer.padId();
        if (pad < 0 || isIn(pad, tokenizer.eosIds())) pad = tokenizer.tokenId("<unk>");
        if (pad < 0 || isIn(pad, tokenizer.eosIds())) {
            throw new IllegalArgumentException(
                    "tokenizer " + tokenizer.source() + " has no pad token other than EOS and "
                            + "no <unk>. Fix: set pack.pad_token_id to an id that is not EOS ("
                            + Arrays.toString(tokenizer.eosIds()) + ")");
        }
        return pad;
    }

    private boolean endsWithEos(int[] ids) {
        int i = ids.length - 1;
        while (i >= 0
                && !isIn(ids[i], eosIds)
                && tokenizer.decode(new int[] {ids[i]}, false).isBlank()) i--;
        return i >= 0 && isIn(ids[i], eosIds);
    }

    private static boolean isIn(int id, int[] set) {
        for (int x : set) if (x == id) return true;
        return false;
    }

    static int commonPrefix(int[] a, int[] b) {
        int n = Math.min(a.length, b.length);
        int i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }
}
