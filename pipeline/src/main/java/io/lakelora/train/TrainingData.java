package io.lakelora.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.BadInputException;
import io.lakelora.tokenizer.Tokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Reads a local training file into tokenized {@link Document}s.
 *
 * <ul>
 *   <li>{@code .txt}: plain text. Documents are separated by lines holding only {@code <|endoftext|>}; without such a
 *       line the whole file is one document. Every token is trained.</li>
 *   <li>{@code .jsonl}: one JSON object per line, each one of
 *       {@code {"text": ...}} (every token trained),
 *       {@code {"instruction": ..., "input": ..., "output": ...}} (Alpaca template; only the output and EOS trained), or
 *       {@code {"messages": [{"role": ..., "content": ...}, ...]}} (roles system/user/assistant; only assistant contents
 *       and their EOS trained).</li>
 * </ul>
 * Each document is BOS (as the tokenizer adds it) + tokens + EOS; the EOS is trained, so the model learns to stop.
 * Bad rows are {@link BadInputException}s naming file, line and keys.
 */
public final class TrainingData {
    /** Document separator in .txt files (a line on its own). */
    public static final String TXT_SEPARATOR = "<|endoftext|>";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Stanford Alpaca's prompt with an input. */
    static final String ALPACA_WITH_INPUT = "Below is an instruction that describes a task, paired with an input that "
            + "provides further context. Write a response that appropriately completes the request.\n\n"
            + "### Instruction:\n%s\n\n### Input:\n%s\n\n### Response:\n";
    /** Stanford Alpaca's prompt without an input. */
    static final String ALPACA_NO_INPUT = "Below is an instruction that describes a task. Write a response that "
            + "appropriately completes the request.\n\n### Instruction:\n%s\n\n### Response:\n";

    private TrainingData() {}

    /** Reads {@code file} (.txt or .jsonl) with {@code tok}. */
    public static List<Document> read(Path file, Tokenizer tok) {
        if (!Files.isRegularFile(file)) {
            throw new BadInputException("data file not found: " + file + ". Fix: pass an existing .txt or .jsonl file");
        }
        if (tok.eosId() < 0) {
            throw new BadInputException("tokenizer " + tok.source() + " has no EOS token; training needs one so the "
                    + "model learns to stop. Fix: set eos_token in tokenizer_config.json");
        }
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        List<Document> docs;
        if (name.endsWith(".txt")) docs = readText(file, tok);
        else if (name.endsWith(".jsonl")) docs = readJsonl(file, tok);
        else {
            throw new BadInputException("data file " + file + ": unsupported extension, expected .txt (plain text) or "
                    + ".jsonl (text / instruction+output / messages rows)");
        }
        long trained = 0;
        for (Document d : docs) for (int l : d.labels()) if (l != Batch.IGNORE_INDEX) trained++;
        if (docs.isEmpty() || trained == 0) {
            throw new BadInputException("data file " + file + " has no training text (" + docs.size() + " documents, "
                    + "0 trained tokens). Fix: pass a file with text to learn from");
        }
        return docs;
    }

    static List<Document> readText(Path file, Tokenizer tok) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading data file " + file, e);
        }
        List<Document> docs = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (String line : text.split("\n", -1)) {
            if (line.strip().equals(TXT_SEPARATOR)) {
                addText(docs, cur.toString(), tok);
                cur.setLength(0);
            } else {
                if (cur.length() > 0) cur.append('\n');
                cur.append(line);
            }
        }
        addText(docs, cur.toString(), tok);
        return docs;
    }

    private static void addText(List<Document> docs, String text, Tokenizer tok) {
        if (text.isBlank()) return;
        int[] ids = withEos(tok.encode(text, true), tok.eosId());
        docs.add(new Document(ids, ids.clone()));
    }

    static List<Document> readJsonl(Path file, Tokenizer tok) {
        List<Document> docs = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int lineNo = 0;
            while ((line = r.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) continue;
                JsonNode row;
                try {
                    row = JSON.readTree(line);
                } catch (JsonProcessingException e) {
                    throw new BadInputException(file + " line " + lineNo + ": not valid JSON (" + e.getOriginalMessage()
                            + "). Fix: one JSON object per line");
                }
                docs.add(row(row, file, lineNo, tok));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading data file " + file, e);
        }
        return docs;
    }

    private static Document row(JsonNode row, Path file, int lineNo, Tokenizer tok) {
        String where = file + " line " + lineNo;
        if (!row.isObject())
            throw new BadInputException(where + ": expected a JSON object, found " + row.getNodeType());
        if (row.has("text")) {
            String text = string(row, "text", where);
            int[] ids = withEos(tok.encode(text, true), tok.eosId());
            return new Document(ids, ids.clone());
        }
        if (row.has("instruction")) {
            String instruction = string(row, "instruction", where);
            String input = row.has("input") && !row.get("input").isNull() ? string(row, "input", where) : "";
            if (!row.has("output")) {
                throw new BadInputException(where + ": an instruction row needs an 'output' (the response to learn)");
            }
            String output = string(row, "output", where);
            String prompt = input.isEmpty()
                    ? String.format(ALPACA_NO_INPUT, instruction)
                    : String.format(ALPACA_WITH_INPUT, instruction, input);
            return promptAndResponse(tok.encode(prompt, true), withEos(tok.encode(output, false), tok.eosId()));
        }
        if (row.has("messages")) return chat(row.get("messages"), where, tok);
        List<String> keys = new ArrayList<>();
        row.fieldNames().forEachRemaining(keys::add);
        throw new BadInputException(where + ": no training field; expected 'text', 'instruction'+'output' or "
                + "'messages', found keys " + keys);
    }

    private static Document chat(JsonNode messages, String where, Tokenizer tok) {
        if (!messages.isArray() || messages.isEmpty()) {
            throw new BadInputException(where + ": 'messages' must be a non-empty list of {role, content}");
        }
        List<int[]> idParts = new ArrayList<>();
        List<Boolean> trained = new ArrayList<>();
        boolean first = true;
        boolean anyAssistant = false;
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String role = string(m, "role", where + " message " + i);
            String content = string(m, "content", where + " message " + i);
            if (!role.equals("system") && !role.equals("user") && !role.equals("assistant")) {
                throw new BadInputException(
                        where + " message " + i + ": role '" + role + "', expected system, user or " + "assistant");
            }
            String header = "### " + Character.toUpperCase(role.charAt(0)) + role.substring(1) + ":\n";
            idParts.add(tok.encode(header, first));
            trained.add(false);
            first = false;
            if (role.equals("assistant")) {
                anyAssistant = true;
                idParts.add(withEos(tok.encode(content, false), tok.eosId()));
                trained.add(true);
                idParts.add(tok.encode("\n\n", false));
                trained.add(false);
            } else {
                idParts.add(tok.encode(content + "\n\n", false));
                trained.add(false);
            }
        }
        if (!anyAssistant) {
            throw new BadInputException(where + ": 'messages' has no assistant message, so nothing would be trained");
        }
        int n = idParts.stream().mapToInt(a -> a.length).sum();
        int[] ids = new int[n];
        int[] labels = new int[n];
        int o = 0;
        for (int p = 0; p < idParts.size(); p++) {
            int[] part = idParts.get(p);
            System.arraycopy(part, 0, ids, o, part.length);
            for (int i = 0; i < part.length; i++) labels[o + i] = trained.get(p) ? part[i] : Batch.IGNORE_INDEX;
            o += part.length;
        }
        return new Document(ids, labels);
    }

    private static Document promptAndResponse(int[] prompt, int[] response) {
        int[] ids = Arrays.copyOf(prompt, prompt.length + response.length);
        System.arraycopy(response, 0, ids, prompt.length, response.length);
        int[] labels = ids.clone();
        Arrays.fill(labels, 0, prompt.length, Batch.IGNORE_INDEX);
        return new Document(ids, labels);
    }

    private static String string(JsonNode row, String key, String where) {
        JsonNode v = row.get(key);
        if (v == null || !v.isTextual()) {
            throw new BadInputException(where + ": '" + key + "' must be a string, found "
                    + (v == null ? "nothing" : v.getNodeType().toString().toLowerCase(Locale.ROOT)));
        }
        return v.asText();
    }

    private static int[] withEos(int[] ids, int eos) {
        int[] out = Arrays.copyOf(ids, ids.length + 1);
        out[ids.length] = eos;
        return out;
    }
}
