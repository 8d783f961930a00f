package io.lakelora.train;

/**
 * One tokenized training document: {@code ids} with BOS (when the tokenizer adds one) and the trained EOS, and
 * {@code labels} aligned with them (HF convention, the model shifts): the token id where it is trained, -100 on prompt
 * tokens of instruction and chat rows.
 */
public record Document(int[] ids, int[] labels) {
    public Document {
        if (ids.length != labels.length) {
            throw new IllegalArgumentException(
                    "ids and labels differ in length: " + ids.length + " vs " + labels.length);
        }
    }

    public int length() {
        return ids.length;
    }
}
