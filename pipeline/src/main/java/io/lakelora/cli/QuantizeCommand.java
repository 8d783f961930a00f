package io.lakelora.cli;

import io.lakelora.quant.QuantType;
import io.lakelora.quant.QuantizedMatrix;
import io.lakelora.quant.Quantizer;
import io.lakelora.quant.io.QuantizedCheckpoint;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lakelora quantize}: writes a copy of a Hugging Face model whose decoder linear weights are quantized the way
 * bitsandbytes does it (NF4/FP4, optional double quantization, or LLM.int8 rows), in the layout transformers loads.
 * Prints bits per parameter, resident bytes and seconds.
 */
@Command(
        name = "quantize",
        sortOptions = false,
        description = "Quantize a model's linear weights (bitsandbytes NF4/FP4/int8) into a transformers-loadable "
                + "directory.")
public final class QuantizeCommand extends BaseCommand {
    @Option(
            names = "--model",
            required = true,
            paramLabel = "DIR",
            description = "Hugging Face model directory (config.json + model.safetensors or a sharded index).")
    Path model;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory (created).")
    Path out;

    @Option(
            names = "--quant",
            defaultValue = "nf4",
            paramLabel = "nf4|fp4|int8",
            description = "Quantization type (default: ${DEFAULT-VALUE}).")
    String quant;

    @Option(
            names = "--blocksize",
            defaultValue = "64",
            paramLabel = "N",
            description = "4-bit block size, a power of two in 32..4096 (default: ${DEFAULT-VALUE}).")
    int blocksize;

    @Option(
            names = "--double-quant",
            arity = "1",
            paramLabel = "true|false",
            description = "Quantize the block absmax too (default: true for nf4/fp4, false for int8).")
    Boolean doubleQuant;

    @Option(names = "--verify", description = "Reload every quantized weight after writing and check it.")
    boolean verify;

    @Override
    protected Map<String, Object> execute() {
        QuantType type = QuantType.parse(quant);
        if (type == QuantType.NONE) {
            throw new IllegalArgumentException("--quant none is not a quantization: expected nf4, fp4 or int8");
        }
        boolean dq = doubleQuant != null ? doubleQuant : type != QuantType.INT8;
        Quantizer quantizer = new Quantizer(type, blocksize, dq);
        log("[quantize] " + model + " -> " + out + " (" + type.id()
                + (type == QuantType.INT8 ? "" : ", blocksize " + blocksize + (dq ? ", double quant" : "")) + ")");
        long t0 = System.nanoTime();
        QuantizedCheckpoint.Summary s = QuantizedCheckpoint.save(model, out, quantizer);
        double seconds = (System.nanoTime() - t0) / 1e9;

        Map<String, Object> r = new LinkedHashMap<>();
        r.put("model", model.toString());
        r.put("out", out.toString());
        r.put("quant", type.id());
        r.put("blocksize", quantizer.blocksize());
        r.put("double_quant", dq);
        r.put("quantized_tensors", s.linearTensors());
        r.put("kept_tensors", s.keptTensors());
        r.put("quantized_params", s.linearParams());
        r.put("kept_params", s.keptParams());
        r.put("bits_per_param", Math.round(s.bitsPerParam() * 10000) / 10000.0);
        r.put("resident_bytes", s.residentBytes());
        r.put("quantized_resident_bytes", s.linearResidentBytes());
        r.put("source_bytes", s.sourceBytes());
        r.put("output_bytes", s.outputBytes());
        r.put("files", s.files().stream().map(p -> p.getFileName().toString()).toList());
        r.put("seconds", Math.round(seconds * 1000) / 1000.0);
        if (verify) {
            long t1 = System.nanoTime();
            int checked = 0;
            try (QuantizedCheckpoint ck = QuantizedCheckpoint.open(out)) {
                for (String w : ck.quantizedWeights().keySet()) {
                    QuantizedMatrix m = ck.load(w);
                    if (m.type() != type) {
                        throw new IllegalStateException(
                                "reloaded " + w + " as " + m.type().id() + ", wrote " + type.id());
                    }
                    checked++;
                }
            }
            if (checked != s.linearTensors()) {
                throw new IllegalStateException(
                        "reloaded " + checked + " quantized weights, wrote " + s.linearTensors());
            }
            r.put("verified_tensors", checked);
            r.put("verify_seconds", Math.round((System.nanoTime() - t1) / 1e6) / 1000.0);
        }
        return r;
    }
}
