package io.lakelora.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.LoraConfig;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.ModelDir;
import io.lakelora.safetensors.DType;
import io.lakelora.safetensors.ShardedCheckpoint;
import io.lakelora.safetensors.ShardedCheckpointWriter;
import io.lakelora.safetensors.TensorInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Merges a LoRA adapter into its base model and saves a plain Hugging Face model directory: for every adapted linear
 * {@code W' = W + scaling * B A} (PEFT's {@code merge_and_unload}), every other tensor copied. The base is read from the
 * original full-precision checkpoint (F32/F16/BF16) and written as F32 (or BF16/F16 when asked): merging into a 4-bit
 * base would re-quantize the sum and lose the adapter's small updates, so a quantized checkpoint is refused.
 */
public final class PeftMerge {
    /** transformers' default shard size ("5GB"). */
    public static final long SHARD_BYTES = 5_000_000_000L;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> COPIED = List.of(
            "tokenizer.json",
            "tokenizer.json.gz",
            "tokenizer.model",
            "tokenizer_config.json",
            "special_tokens_map.json",
            "generation_config.json",
            "chat_template.jinja");

    private PeftMerge() {}

    /**
     * Writes {@code outDir} = the model of {@code modelDir} with the adapter merged in, in {@code dtype}; returns the
     * weight files written.
     */
    public static List<Path> merge(
            Path modelDir, LoraConfig cfg, AdapterLayout layout, float[] params, Path outDir, DType dtype) {
        if (!dtype.isFloat()) throw new IllegalArgumentException("merge dtype must be F32, BF16 or F16, got " + dtype);
        if (cfg.initKind().rewritesBase()) {
            throw new IllegalArgumentException("init_lora_weights '" + cfg.initLoraWeights() + "': this adapter was "
                    + "trained against a rewritten base, so W + s B A on the original base is not the trained model. "
                    + "Fix: merge its plain-LoRA form (PlainLoraExport.toPlainLora, as train-local writes it)");
        }
        ModelDir md = ModelDir.open(modelDir);
        Path out = outDir.toAbsolutePath().normalize();
        if (out.equals(md.path())) {
            throw new IllegalArgumentException("merge output " + out + " is the base model directory. Fix: write the "
                    + "merged model to a new directory");
        }
        JsonNode rawConfig = readJson(md.path().resolve(ModelDir.CONFIG));
        if (rawConfig.has("quantization_config")) {
            throw new UnsupportedOperationException("base model " + md.path() + " is a quantized checkpoint "
                    + "(config.json has quantization_config); merging into a 4-bit base loses the adapter's updates. "
                    + "Fix: merge into the original fp16/bf16/fp32 model directory");
        }
        AdapterLayout expected = PeftAdapter.layoutFor(md.config(), cfg);
        if (expected.size() != layout.size()
                || expected.numLayers() != layout.numLayers()
                || !expected.targets().equals(layout.targets())
                || params.length != layout.size()) {
            throw new IllegalArgumentException("the adapter (" + layout.numLayers() + " layers, " + layout.size()
                    + " parameters) does not fit model " + md.path() + " (" + expected.numLayers() + " layers, "
                    + expected.size() + " parameters for this LoRA config). Fix: merge into the adapter's base model");
        }
        Map<String, AdapterLayout.Tensor[]> adapted = new HashMap<>();
        for (int l = 0; l < layout.numLayers(); l++) {
            for (TargetModule m : layout.targets()) {
                adapted.put(
                        m.modulePath(l) + ".weight",
                        new AdapterLayout.Tensor[] {layout.find(l, m, true), layout.find(l, m, false)});
            }
        }
        double scaling = cfg.scaling();
        List<Path> files;
        try (ShardedCheckpoint src = md.openWeights()) {
            ShardedCheckpointWriter w = new ShardedCheckpointWriter(out, "model", SHARD_BYTES).metadata("format", "pt");
            int merged = 0;
            for (TensorInfo info : src.tensors().values()) {
                String name = info.name();
                long[] shape = info.shape();
                AdapterLayout.Tensor[] ab = adapted.get(name);
                if (ab != null) {
                    AdapterLayout.Tensor a = ab[0];
                    AdapterLayout.Tensor b = ab[1];
                    if (shape.length != 2 || shape[0] != b.rows() || shape[1] != a.cols()) {
                        throw new IllegalArgumentException("base weight " + name + " has shape "
                                + java.util.Arrays.toString(shape) + ", the adapter expects [" + b.rows() + ", "
                                + a.cols() + "]");
                    }
                    merged++;
                    w.add(name, dtype, shape, sink -> {
                        float[] wv = src.readFloats(name);
                        addScaledProduct(wv, params, a, b, scaling);
                        sink.writeFloats(wv, 0, wv.length);
                    });
                } else if (info.dtype().isFloat()) {
                    w.add(name, dtype, shape, sink -> {
                        float[] v = src.readFloats(name);
                        sink.writeFloats(v, 0, v.length);
                    });
                } else {
                    w.add(name, info.dtype(), shape, sink -> {
                        byte[] raw = src.readBytes(name);
                        sink.writeBytes(raw, 0, raw.length);
                    });
                }
            }
            if (merged != adapted.size()) {
                throw new IllegalArgumentException("base model " + md.path() + " has only " + merged + " of the "
                        + adapted.size() + " weights the adapter adapts. Fix: merge into the adapter's base model");
            }
            files = w.write();
        }
        ObjectNode config = (ObjectNode) rawConfig.deepCopy();
        config.put(
                "torch_dtype",
                switch (dtype) {
                    case BF16 -> "bfloat16";
                    case F16 -> "float16";
                    default -> "float32";
                });
        PeftAdapter.writeAtomically(out.resolve(ModelDir.CONFIG), config);
        for (String f : COPIED) {
            Path s = md.path().resolve(f);
            if (Files.isRegularFile(s)) {
                try {
                    Files.copy(s, out.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                } catch (IOException e) {
                    throw new UncheckedIOException("copying " + s + " to " + out, e);
                }
            }
        }
        return files;
    }

    /** w[out, in] += scaling * B[out, r] A[r, in], each element's sum in double, one fp32 rounding. */
    static void addScaledProduct(float[] w, float[] p, AdapterLayout.Tensor a, AdapterLayout.Tensor b, double scaling) {
        int out = b.rows();
        int in = a.cols();
        int r = a.rows();
        double[] row = new double[in];
        for (int i = 0; i < out; i++) {
            java.util.Arrays.fill(row, 0);
            for (int k = 0; k < r; k++) {
                double bik = p[b.offset() + i * r + k];
                if (bik == 0) continue;
                int ao = a.offset() + k * in;
                for (int j = 0; j < in; j++) row[j] += bik * p[ao + j];
            }
            for (int j = 0; j < in; j++) w[i * in + j] = (float) (w[i * in + j] + scaling * row[j]);
        }
    }

    private static JsonNode readJson(Path f) {
        try {
            return JSON.readTree(io.lakelora.error.BoundedReads.readJsonFile(f));
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + f, e);
        }
    }
}
