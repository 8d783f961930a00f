package io.lakelora.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.AdapterState;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.LoraLlama;
import io.lakelora.model.LoraSpec;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.quant.QuantType;
import io.lakelora.quant.Quantizer;
import io.lakelora.safetensors.DType;
import io.lakelora.safetensors.SafetensorsWriter;
import io.lakelora.train.Batch;
import io.lakelora.train.LossSum;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lakelora grads --model DIR --adapter DIR --input FILE.json --out FILE.safetensors [--quant none|nf4]}: the
 * gradient of the MEAN token loss with respect to every adapter tensor, written under the tensor's PEFT key, with the
 * loss in the metadata ({@code "loss"}). Dropout off. Input: {@code {"input_ids": [[...], ...], "labels": [[...], ...]}}
 * (labels optional, default = input_ids; -100 = ignored; HF convention, shifted inside; an optional
 * {@code "position_ids"} marks packed documents, restarting at 0 per document). This is how anyone can check the engine
 * against another framework (e.g. PEFT + transformers on the same adapter).
 */
@Command(name = "grads", description = "Write the LoRA gradients of the mean loss on a batch (to compare with "
        + "another framework).")
public final class GradsCommand extends BaseCommand {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Base model directory (HF layout).")
    Path model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "PEFT adapter directory.")
    Path adapter;

    @Option(names = "--input", required = true, paramLabel = "FILE.json",
            description = "{\"input_ids\": [[...]], \"labels\": [[...]]} (labels optional).")
    Path input;

    @Option(names = "--out", required = true, paramLabel = "FILE.safetensors", description = "Gradients output.")
    Path out;

    @Option(names = "--quant", defaultValue = "none", paramLabel = "none|nf4",
            description = "Base weights: none (fp32) or nf4 (bitsandbytes NF4, blocksize 64).")
    String quant;

    @Option(names = "--double-quant", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "With --quant nf4: quantize the absmax values too (QLoRA's default; --no-double-quant to "
                    + "compare with a base de-quantized from plain NF4).")
    boolean doubleQuant;

    @Override
    protected Map<String, Object> execute() throws IOException {
        Batch batch = readBatch(input);
        PeftAdapter.Loaded a = PeftAdapter.load(adapter, LlamaLoader.config(model));
        QuantType qt = QuantType.parse(quant);
        if (qt != QuantType.NONE && qt != QuantType.NF4) {
            throw new IllegalArgumentException("--quant must be none or nf4, got " + quant);
        }
        Quantizer q = qt == QuantType.NF4 ? new Quantizer(QuantType.NF4, Quantizer.DEFAULT_BLOCKSIZE, doubleQuant) : null;
        LlamaWeights w = LlamaLoader.load(model, q == null ? null : q::quantize);
        LoraSpec spec = LoraSpec.of(a.config().r(), a.config().loraAlpha(), a.config().useRslora(), 0.0,
                a.config().targets());
        LoraLlama m = new LoraLlama(w, spec, KernelProvider.get(), false);
        AdapterLayout layout = m.layout();
        float[] grads = new float[layout.size()];
        LossSum loss = m.forwardBackward(a.params(), grads, batch, 0L);
        if (loss.tokens() == 0) {
            throw new BadInputException(input + ": every label is -100 (after the shift), so there is no loss to "
                    + "differentiate. Fix: give labels for at least one position after the first");
        }
        SafetensorsWriter sw = new SafetensorsWriter(out).metadata("format", "pt")
                .metadata("loss", Double.toString(loss.mean()))
                .metadata("tokens", Long.toString(loss.tokens()));
        for (AdapterLayout.Tensor t : layout.tensors()) {
            float[] g = AdapterState.copyOf(grads, t);
            for (int i = 0; i < g.length; i++) g[i] = (float) (g[i] / (double) loss.tokens());
            sw.add(t.peftKey(), DType.F32, new long[] {t.rows(), t.cols()}, g);
        }
        sw.write();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("loss", loss.mean());
        r.put("tokens", loss.tokens());
        r.put("tensors", layout.tensors().size());
        r.put("out", out.toString());
        log(String.format(Locale.ROOT, "loss %.6f over %d target tokens; %d gradient tensors -> %s", loss.mean(),
                loss.tokens(), layout.tensors().size(), out));
        return r;
    }

    static Batch readBatch(Path file) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new BadInputException(file + ": not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (root == null || !root.has("input_ids")) {
            throw new BadInputException(file + ": expected {\"input_ids\": [[...], ...], \"labels\": [[...], ...]}");
        }
        int[][] ids = rows(root.get("input_ids"), file, "input_ids");
        int[][] labels = root.has("labels") && !root.get("labels").isNull() ? rows(root.get("labels"), file, "labels")
                : ids;
        if (labels.length != ids.length) {
            throw new BadInputException(file + ": 'labels' has " + labels.length + " rows, 'input_ids' " + ids.length);
        }
        int[][] pos = root.has("position_ids") && !root.get("position_ids").isNull()
                ? rows(root.get("position_ids"), file, "position_ids") : null;
        if (pos != null && pos.length != ids.length) {
            throw new BadInputException(file + ": 'position_ids' has " + pos.length + " rows, 'input_ids' " + ids.length);
        }
        try {
            return new Batch(ids, labels, pos);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(file + ": " + e.getMessage(), e);
        }
    }

    private static int[][] rows(JsonNode n, Path file, String key) {
        if (!n.isArray() || n.isEmpty()) throw new BadInputException(file + ": '" + key + "' must be a non-empty list of lists");
        int[][] out = new int[n.size()][];
        for (int b = 0; b < n.size(); b++) {
            JsonNode row = n.get(b);
            if (!row.isArray() || row.isEmpty()) {
                throw new BadInputException(file + ": '" + key + "'[" + b + "] must be a non-empty list of token ids");
            }
            out[b] = new int[row.size()];
            for (int t = 0; t < row.size(); t++) {
                if (!row.get(t).canConvertToInt()) {
                    throw new BadInputException(file + ": '" + key + "'[" + b + "][" + t + "] is not an integer: "
                            + row.get(t));
                }
                out[b][t] = row.get(t).intValue();
            }
        }
        return out;
    }
}
