package io.lakelora.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.BadInputException;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.model.GradientExport;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.LoraAdapter;
import io.lakelora.train.Batch;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lakelora grads}: the gradient of the mean loss for every tensor of a PEFT LoRA adapter on given token ids,
 * dropout off, written under the adapter's own keys with the loss in the metadata ({@code "loss"}) - how anyone can
 * check the engine against another framework. Input: {@code {"input_ids": [[...], ...], "labels": [[...], ...]}}
 * (labels optional, default = input_ids; -100 = ignored; rows may differ in length; optional "position_ids").
 */
@Command(
        name = "grads",
        description = "Write d(mean loss)/d(adapter tensors) for given token ids (check vs other frameworks).")
public final class GradsCommand extends BaseCommand {
    @Option(
            names = "--model",
            required = true,
            paramLabel = "DIR",
            description = "Base model directory (Hugging Face layout).")
    Path model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "PEFT LoRA adapter directory.")
    Path adapter;

    @Option(
            names = "--input",
            required = true,
            paramLabel = "FILE",
            description = "JSON: {\"input_ids\": [[...]], \"labels\": [[...]]}.")
    Path input;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "Output .safetensors file.")
    Path out;

    @Option(names = "--quant", description = "Base weights: nf4 (NF4 + double quantization, default) or none (fp32).")
    String quant = "nf4";

    @Override
    protected Map<String, Object> execute() {
        int vocab = io.lakelora.model.LlamaLoader.config(model).vocabSize();
        List<GradientExport.Row> rows = readInput(vocab);
        LlamaWeights w = ModelLoading.loadWeights(model, quant);
        LoraAdapter a = ModelLoading.loadAdapter(adapter, w);
        GradientExport.Result r = GradientExport.compute(w, a, rows, KernelProvider.get());
        GradientExport.write(out, a.layout(), r);
        Map<String, Object> res = new LinkedHashMap<>();
        res.put("out", out.toString());
        res.put("loss", r.loss());
        res.put("tokens", r.tokens());
        res.put("tensors", a.layout().tensors().size());
        return res;
    }

    private List<GradientExport.Row> readInput(int vocab) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(input.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new BadInputException(input + " is not valid JSON (" + e.getOriginalMessage() + "). Fix: "
                    + "{\"input_ids\": [[...], ...], \"labels\": [[...], ...]}");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read --input " + input, e);
        }
        if (root == null
                || !root.isObject()
                || !root.path("input_ids").isArray()
                || root.get("input_ids").isEmpty()) {
            throw new BadInputException(input + " needs \"input_ids\": a non-empty array of token-id arrays. Fix: "
                    + "{\"input_ids\": [[...], ...], \"labels\": [[...], ...]}");
        }
        JsonNode ids = root.get("input_ids");
        JsonNode labels = root.get("labels");
        JsonNode pos = root.get("position_ids");
        checkSameRows("labels", labels, ids.size());
        checkSameRows("position_ids", pos, ids.size());
        List<GradientExport.Row> rows = new ArrayList<>();
        for (int b = 0; b < ids.size(); b++) {
            int[] x = ints("input_ids", b, ids.get(b), 0, vocab);
            int[] y = labels == null ? x.clone() : ints("labels", b, labels.get(b), Batch.IGNORE_INDEX, vocab);
            int[] p = pos == null ? null : ints("position_ids", b, pos.get(b), 0, Integer.MAX_VALUE);
            if (y.length != x.length || (p != null && p.length != x.length)) {
                throw new BadInputException(input + ": row " + b + " has " + x.length + " input_ids but "
                        + (y.length != x.length ? y.length + " labels" : p.length + " position_ids")
                        + ". Fix: labels (and position_ids) align with input_ids, one per token");
            }
            rows.add(new GradientExport.Row(x, y, p));
        }
        return rows;
    }

    private void checkSameRows(String key, JsonNode n, int rows) {
        if (n != null && (!n.isArray() || n.size() != rows)) {
            throw new BadInputException(
                    input + ": \"" + key + "\" must be an array of " + rows + " rows like input_ids");
        }
    }

    /** Values in [min, vocab), or exactly -100 when min is -100 (ignored labels). */
    private int[] ints(String key, int row, JsonNode a, int min, int vocab) {
        if (a == null || !a.isArray() || a.isEmpty()) {
            throw new BadInputException(input + ": " + key + "[" + row + "] must be a non-empty array of integers");
        }
        int[] out = new int[a.size()];
        for (int j = 0; j < out.length; j++) {
            JsonNode v = a.get(j);
            int x = v.asInt();
            boolean ok = v.isInt()
                    && (x == Batch.IGNORE_INDEX && min == Batch.IGNORE_INDEX || x >= Math.max(min, 0) && x < vocab);
            if (!ok) {
                throw new BadInputException(input + ": " + key + "[" + row + "][" + j + "] = " + v + " is not "
                        + (min == Batch.IGNORE_INDEX ? "-100 or " : "") + "an integer in [0, " + vocab + ")");
            }
            out[j] = x;
        }
        return out;
    }
}
