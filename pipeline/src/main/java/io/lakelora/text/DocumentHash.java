package io.lakelora.text;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * Content hashes and the train/eval split. A document's id is the SHA-256 (hex) of its normalized content, so the
 * same text always gets the same id (exact deduplication, idempotent MERGE keys, lineage); the split is a pure
 * function of that id and a seed, so it never changes between runs or machines.
 */
public final class DocumentHash {
    private DocumentHash() {}

    /** Lower-case hex SHA-256 of the UTF-8 bytes. */
    public static String sha256Hex(String s) {
        return io.lakelora.util.Hashes.sha256Hex(s);
    }

    static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from this JVM", e);
        }
    }

    /**
     * The id of a conversation: the hash of its turns, each as role, U+0001, content, U+0002 (separators that
     * normalized text never contains, so different turn splits never collide).
     */
    public static String conversationId(List<ChatMessage> messages) {
        StringBuilder sb = new StringBuilder();
        for (ChatMessage m : messages)
            sb.append(m.role()).append('\u0001').append(m.content()).append('\u0002');
        return sha256Hex(sb.toString());
    }

    /**
     * "eval" when the first 8 bytes of SHA-256(seed + ":" + docId), read as an unsigned fraction of 2^64, fall below
     * {@code evalFraction}; else "train".
     */
    public static String split(String docId, double evalFraction, long seed) {
        if (!(evalFraction >= 0 && evalFraction <= 1)) {
            throw new IllegalArgumentException(
                    "split.eval_fraction is " + evalFraction + ", expected a value in [0, 1]");
        }
        byte[] h = sha256(seed + ":" + docId);
        long v = 0;
        for (int i = 0; i < 8; i++) v = (v << 8) | (h[i] & 0xff);
        double u = (v >>> 11) * 0x1.0p-53; // top 53 bits -> [0, 1)
        return u < evalFraction ? "eval" : "train";
    }
}
