package io.lakelora.tokenizer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.lakelora.error.BadInputException;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * The id <-> token table of a Hugging Face {@code tokenizer.json}: {@code model.vocab} (an object token -> id for
 * BPE/WordPiece/WordLevel, or an array of {@code [token, score]} pairs for Unigram, where the index is the id) plus
 * {@code added_tokens}. Read with a streaming parser so the (large) merges list is skipped, not materialized.
 */
final class Vocab {
    final String[] idToToken;
    final Map<String, Integer> tokenToId;
    /** Ids of added tokens flagged {@code "special": true}. */
    final java.util.Set<Integer> specialIds;

    private Vocab(String[] idToToken, Map<String, Integer> tokenToId, java.util.Set<Integer> specialIds) {
        this.idToToken = idToToken;
        this.tokenToId = tokenToId;
        this.specialIds = specialIds;
    }

    static Vocab parse(byte[] json, String source) {
        Map<String, Integer> map = new HashMap<>();
        java.util.Set<Integer> special = new java.util.HashSet<>();
        try (JsonParser p = new JsonFactory().createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw bad(source, "the file is not a JSON object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                if (field.equals("model") && t == JsonToken.START_OBJECT) {
                    readModel(p, map, source);
                } else if (field.equals("added_tokens") && t == JsonToken.START_ARRAY) {
                    readAdded(p, map, special, source);
                } else {
                    p.skipChildren();
                }
            }
        } catch (IOException e) {
            throw new BadInputException(
                    "tokenizer " + source + ": not valid JSON (" + e.getMessage()
                            + "). Fix: point at an intact Hugging Face tokenizer.json",
                    e);
        }
        if (map.isEmpty()) throw bad(source, "no 'model.vocab' entries found");
        int max = -1;
        for (int id : map.values()) max = Math.max(max, id);
        String[] ids = new String[max + 1];
        for (Map.Entry<String, Integer> e : map.entrySet()) {
            if (e.getValue() < 0) throw bad(source, "negative id " + e.getValue() + " for token '" + e.getKey() + "'");
            ids[e.getValue()] = e.getKey();
        }
        return new Vocab(ids, map, special);
    }

    private static void readModel(JsonParser p, Map<String, Integer> map, String source) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken t = p.nextToken();
            if (field.equals("vocab") && t == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String token = p.currentName();
                    if (p.nextToken() != JsonToken.VALUE_NUMBER_INT)
                        throw bad(source, "vocab entry '" + token + "' is not an integer id");
                    map.put(token, p.getIntValue());
                }
            } else if (field.equals("vocab") && t == JsonToken.START_ARRAY) { // Unigram: [[piece, score], ...]
                int id = 0;
                while (p.nextToken() == JsonToken.START_ARRAY) {
                    p.nextToken();
                    map.put(p.getText(), id++);
                    while (p.nextToken() != JsonToken.END_ARRAY) p.skipChildren();
                }
            } else {
                p.skipChildren();
            }
        }
    }

    private static void readAdded(JsonParser p, Map<String, Integer> map, java.util.Set<Integer> special, String source)
            throws IOException {
        while (p.nextToken() == JsonToken.START_OBJECT) {
            Integer id = null;
            String content = null;
            boolean isSpecial = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String f = p.currentName();
                p.nextToken();
                switch (f) {
                    case "id" -> id = p.getIntValue();
                    case "content" -> content = p.getText();
                    case "special" -> isSpecial = p.getBooleanValue();
                    default -> p.skipChildren();
                }
            }
            if (id == null || content == null) throw bad(source, "an added_tokens entry lacks 'id' or 'content'");
            map.put(content, id);
            if (isSpecial) special.add(id);
        }
    }

    private static BadInputException bad(String source, String what) {
        return new BadInputException("tokenizer " + source + ": " + what
                + ". Fix: point at a Hugging Face tokenizer.json (as saved by tokenizers/transformers)");
    }
}
