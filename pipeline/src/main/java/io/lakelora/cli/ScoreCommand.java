package io.lakelora.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.BadInputException;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.LlamaSession;
import io.lakelora.model.LlamaWeights;
import io.lakelora.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lakelora score}: the mean negative log-likelihood (nats) of each line of a JSONL file under the model, over
 * the predicted tokens (every token after the first). A line is {@code {"input_ids": [...]}} or {@code {"text": "..."}}
 * (encoded with the model's special tokens, e.g. BOS); blank lines are skipped.
 */
@Command(name = "score", description = "Mean NLL (nats) per line of a JSONL file under a model.")
public final class ScoreCommand extends BaseCommand {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(
            names = "--model",
            required = true,
            paramLabel = "DIR",
            description = "Model directory in Hugging Face layout.")
    Path model;

    @Option(
            names = "--input",
            required = true,
            paramLabel = "FILE",
            description = "JSONL: {\"input_ids\": [...]} or {\"text\": \"...\"} per line.")
    Path input;

    @Option(names = "--quant", description = "Base weights: nf4 (NF4 + double quantization, default) or none (fp32).")
    String quant = "nf4";

    @Option(names = "--adapter", paramLabel = "DIR", description = "A PEFT LoRA adapter directory to apply.")
    Path adapter;

    @Override
    protected Map<String, Object> execute() {
        int vocab = LlamaLoader.config(model).vocabSize();
        List<int[]> seqs = new ArrayList<>();
        List<Integer> lineNos = new ArrayList<>();
        try (Tokenizer tok = Tokenizer.load(model)) {
            readLines(tok, vocab, seqs, lineNos);
        }
        if (seqs.isEmpty()) {
            throw new BadInputException(input + " has no lines to score. Fix: one JSON object per line, "
                    + "{\"input_ids\": [...]} or {\"text\": \"...\"}");
        }
        LlamaWeights w = ModelLoading.loadWeights(model, quant);
        int maxLen = seqs.stream().mapToInt(s -> s.length).max().orElse(1);
        LlamaSession session = new LlamaSession(
                w, KernelProvider.get(), ModelLoading.loadAdapter(adapter, w), Math.max(1, maxLen), 256);
        List<Map<String, Object>> rows = new ArrayList<>();
        double total = 0;
        long tokens = 0;
        for (int i = 0; i < seqs.size(); i++) {
            double[] s = session.score(seqs.get(i));
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("line", lineNos.get(i));
            row.put("mean_nll", s[1] == 0 ? null : s[0] / s[1]);
            row.put("tokens", (long) s[1]);
            rows.add(row);
            total += s[0];
            tokens += (long) s[1];
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("lines", rows);
        out.put("mean_nll", tokens == 0 ? null : total / tokens);
        out.put("tokens", tokens);
        return out;
    }

    private void readLines(Tokenizer tok, int vocab, List<int[]> seqs, List<Integer> lineNos) {
        List<String> lines;
        try {
            lines = Files.readAllLines(input);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read --input " + input, e);
        }
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) continue;
            String where = input + ":" + (i + 1);
            JsonNode n;
            try {
                n = JSON.readTree(line);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new BadInputException(where + " is not valid JSON (" + e.getOriginalMessage()
                        + "). Fix: one JSON " + "object per line, {\"input_ids\": [...]} or {\"text\": \"...\"}");
            }
            int[] ids;
            if (n != null && n.isObject() && n.has("input_ids")) {
                JsonNode a = n.get("input_ids");
                if (!a.isArray()) throw new BadInputException(where + ": input_ids must be an array of token ids");
                ids = new int[a.size()];
                for (int j = 0; j < ids.length; j++) {
                    JsonNode v = a.get(j);
                    if (!v.isInt() || v.asInt() < 0 || v.asInt() >= vocab) {
                        throw new BadInputException(
                                where + ": input_ids[" + j + "] = " + v + " is not a token id in [0, " + vocab + ")");
                    }
                    ids[j] = v.asInt();
                }
            } else if (n != null
                    && n.isObject()
                    && n.has("text")
                    && n.get("text").isTextual()) {
                ids = tok.encode(n.get("text").asText(), true);
            } else {
                throw new BadInputException(where + " has neither \"input_ids\" (array) nor \"text\" (string). Fix: "
                        + "{\"input_ids\": [...]} or {\"text\": \"...\"}");
            }
            if (ids.length == 0) throw new BadInputException(where + " has no tokens to score");
            seqs.add(ids);
            lineNos.add(i + 1);
        }
    }

    @Override
    protected void printHuman(Map<String, Object> result, PrintStream out) {
        out.println("line\tmean_nll\ttokens");
        for (Object o : (List<?>) result.get("lines")) {
            Map<?, ?> r = (Map<?, ?>) o;
            out.println(r.get("line") + "\t" + r.get("mean_nll") + "\t" + r.get("tokens"));
        }
        out.println("all\t" + result.get("mean_nll") + "\t" + result.get("tokens"));
    }
}
