package io.lakelora.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.error.BadInputException;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.AdapterState;
import io.lakelora.lora.LoraConfig;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.LoraAdapter;
import io.lakelora.model.LoraSpec;
import io.lakelora.model.ModelConfig;
import io.lakelora.safetensors.DType;
import io.lakelora.safetensors.SafetensorsFile;
import io.lakelora.safetensors.SafetensorsWriter;
import io.lakelora.safetensors.TensorInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * LoRA adapters in Hugging Face PEFT's directory format, the format PEFT, vLLM and llama.cpp's converter read:
 * {@code adapter_config.json} and {@code adapter_model.safetensors} (metadata {"format": "pt"}, F32 tensors under the
 * exact PEFT keys {@code base_model.model.model.layers.{i}.{self_attn|mlp}.{name}.lora_{A|B}.weight}, A [r, in],
 * B [out, r]).
 *
 * <p>Import accepts what PEFT and other trainers write: keys with or without the {@code base_model.model.} prefix,
 * with or without the {@code .weight} suffix, with an adapter name ({@code lora_A.default.weight}); F32, F16 or BF16.
 * Anything that would make the adapter silently not apply is an error that names the key: a tensor that is not a
 * LoRA A/B of a decoder linear, a layer the model does not have, a shape that differs from the model's (an adapter for
 * another model), a missing A or B, or an adapter with no tensors at all. So is an adapter whose config still names a
 * base-rewriting init (PiSSA, LoftQ): it fits only its rewritten base ({@link PlainLoraExport} converts it).
 */
public final class PeftAdapter {
    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    // the decoder's layers: model.layers (causal LMs), or Gemma 3 multimodal's language model (transformers 4.50:
    // language_model.model.layers, 4.52+: model.language_model.layers)
    private static final Pattern KEY = Pattern.compile("^(?:base_model\\.model\\.)?"
            + "(?:model\\.|language_model\\.model\\.|model\\.language_model\\.)layers\\.(\\d+)\\."
            + "(self_attn|mlp)\\.([a-z_]+)\\.lora_(A|B)(?:\\.(?!weight$)[A-Za-z0-9_\\-]+)?(?:\\.weight)?$");

    private PeftAdapter() {}

    /** An adapter read from disk: its LoRA settings, the layout over the model and the filled parameter slab. */
    public record Loaded(LoraConfig config, AdapterLayout layout, float[] params, String baseModelNameOrPath) {}

    /** The slab layout of {@code lora} over the decoder of {@code model}. */
    public static AdapterLayout layoutFor(ModelConfig model, LoraConfig lora) {
        return new AdapterLayout(
                model.numLayers(),
                model.hiddenSize(),
                model.qDim(),
                model.kvDim(),
                model.intermediateSize(),
                lora.r(),
                lora.targets());
    }

    /**
     * Writes {@code dir/adapter_config.json} and {@code dir/adapter_model.safetensors} for {@code params} laid out as
     * {@code layout}. Both files are written to temporary names and renamed into place.
     */
    public static void save(
            Path dir, LoraConfig cfg, AdapterLayout layout, float[] params, String baseModelNameOrPath) {
        if (params.length != layout.size()) {
            throw new IllegalArgumentException(
                    "parameter slab has " + params.length + " floats, the layout needs " + layout.size());
        }
        if (layout.rank() != cfg.r() || !layout.targets().equals(cfg.targets())) {
            throw new IllegalArgumentException("layout (r=" + layout.rank() + ", " + layout.targets() + ") does not "
                    + "match the LoRA config (r=" + cfg.r() + ", " + cfg.targets() + ")");
        }
        SafetensorsWriter w = new SafetensorsWriter(dir.resolve(WEIGHTS_FILE)).metadata("format", "pt");
        for (AdapterLayout.Tensor t : layout.tensors()) {
            w.add(t.peftKey(), DType.F32, new long[] {t.rows(), t.cols()}, AdapterState.copyOf(params, t));
        }
        w.write();
        writeAtomically(dir.resolve(CONFIG_FILE), configJson(cfg, baseModelNameOrPath));
    }

    /** The {@code adapter_config.json} content PEFT writes for a LoRA adapter of a causal LM. */
    public static ObjectNode configJson(LoraConfig cfg, String baseModelNameOrPath) {
        ObjectNode c = JSON.createObjectNode();
        c.putObject("alpha_pattern");
        c.putNull("auto_mapping");
        c.put("base_model_name_or_path", baseModelNameOrPath);
        c.put("bias", "none");
        c.put("fan_in_fan_out", false);
        c.put("inference_mode", true);
        Object init = cfg.initLoraWeights();
        if (init instanceof Boolean b) c.put("init_lora_weights", b);
        else c.put("init_lora_weights", String.valueOf(init));
        c.putNull("layer_replication");
        c.putNull("layers_pattern");
        c.putNull("layers_to_transform");
        ObjectNode loftq = c.putObject("loftq_config");
        if (cfg.initKind() == LoraConfig.InitKind.LOFTQ) {
            loftq.put("loftq_bits", 4);
            loftq.put("loftq_iter", cfg.loftqIter());
        }
        double alpha = cfg.loraAlpha();
        if (alpha == Math.rint(alpha) && Math.abs(alpha) < 1e9) c.put("lora_alpha", (long) alpha);
        else c.put("lora_alpha", alpha);
        c.put("lora_dropout", cfg.loraDropout());
        c.putNull("modules_to_save");
        c.put("peft_type", "LORA");
        c.put("r", cfg.r());
        c.putObject("rank_pattern");
        c.putNull("revision");
        ArrayNode tm = c.putArray("target_modules");
        for (TargetModule m : cfg.targets()) tm.add(m.peftName());
        c.put("task_type", "CAUSAL_LM");
        c.put("use_dora", false);
        c.put("use_rslora", cfg.useRslora());
        return c;
    }

    /**
     * Reads a PEFT adapter directory ({@code adapter_config.json} + {@code adapter_model.safetensors}) for inference
     * on a model of shape {@code cfg}; every mismatch (keys, layers, shapes) is an error naming the tensor.
     */
    public static LoraAdapter loadForInference(Path dir, ModelConfig cfg) {
        Loaded a = load(dir, cfg);
        return new LoraAdapter(LoraSpec.of(a.config()), a.layout(), a.params());
    }

    /** Reads {@code dir} (a PEFT adapter directory) and maps it onto {@code model}'s decoder. */
    public static Loaded load(Path dir, ModelConfig model) {
        Path cfgFile = dir.resolve(CONFIG_FILE);
        Path weights = dir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(cfgFile) || !Files.isRegularFile(weights)) {
            String hint = Files.isRegularFile(dir.resolve("adapter_model.bin"))
                    ? " It has adapter_model.bin (PyTorch pickle): re-save it with PEFT's save_pretrained("
                            + "safe_serialization=True)."
                    : "";
            throw new BadInputException("adapter directory " + dir + " needs " + CONFIG_FILE + " and " + WEIGHTS_FILE
                    + "." + hint + " Fix: pass a directory written by PEFT's save_pretrained or by LakeLoRA");
        }
        JsonNode c = readJson(cfgFile);
        checkSupported(c, cfgFile);
        PlainLoraExport.requirePlainLora(c, cfgFile.toString());
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            return map(c, cfgFile, f, model);
        }
    }

    private static Loaded map(JsonNode c, Path cfgFile, SafetensorsFile f, ModelConfig model) {
        Path weights = f.path();
        if (f.tensors().isEmpty()) {
            throw new BadInputException("adapter " + weights + " has no tensors, so it would change nothing. Fix: "
                    + "export the adapter again (it is empty)");
        }
        int r = c.path("r").asInt(-1);
        // tensor key -> (layer, module, isA)
        Map<String, String> byCanonical = new HashMap<>();
        EnumSet<TargetModule> targets = EnumSet.noneOf(TargetModule.class);
        for (String key : f.tensors().keySet()) {
            Matcher m = KEY.matcher(key);
            if (!m.matches()) {
                throw new BadInputException("adapter " + weights + ": tensor '" + key + "' is not the lora_A/lora_B "
                        + "weight of a decoder linear layer (expected keys like base_model.model.model.layers.0."
                        + "self_attn.q_proj.lora_A.weight). LakeLoRA applies LoRA to q/k/v/o/gate/up/down_proj only; "
                        + "modules_to_save, embeddings and DoRA are not supported");
            }
            int layer = Integer.parseInt(m.group(1));
            TargetModule module = moduleOf(m.group(3), m.group(2), key, weights);
            if (layer >= model.numLayers()) {
                throw new BadInputException("adapter " + weights + ": tensor '" + key + "' is for layer " + layer
                        + ", but the model has " + model.numLayers() + " layers. The adapter was trained for another "
                        + "model; fix: use it with its base model ("
                        + c.path("base_model_name_or_path").asText("?")
                        + ")");
            }
            String canonical = "base_model.model." + module.modulePath(layer) + ".lora_" + m.group(4) + ".weight";
            String prev = byCanonical.put(canonical, key);
            if (prev != null) {
                throw new BadInputException("adapter " + weights + ": tensors '" + prev + "' and '" + key + "' are the "
                        + "same LoRA weight (several adapter names in one file?). Fix: keep one adapter per directory");
            }
            targets.add(module);
        }
        if (r <= 0) {
            throw new BadInputException(
                    "adapter config " + cfgFile + ": 'r' must be a positive integer, found " + c.get("r"));
        }
        List<String> names = new ArrayList<>();
        for (TargetModule t : targets) names.add(t.peftName());
        Object init = c.has("init_lora_weights") && c.get("init_lora_weights").isTextual()
                ? c.get("init_lora_weights").asText()
                : (Object) c.path("init_lora_weights").asBoolean(true);
        LoraConfig lora;
        try {
            lora = new LoraConfig(
                    r,
                    c.path("lora_alpha").asDouble(Double.NaN),
                    c.path("lora_dropout").asDouble(0.0),
                    names,
                    c.path("use_rslora").asBoolean(false),
                    init,
                    c.path("loftq_config").path("loftq_iter").asInt(1),
                    "none");
        } catch (IllegalArgumentException e) {
            throw new BadInputException("adapter config " + cfgFile + ": " + e.getMessage(), e);
        }
        AdapterLayout layout = layoutFor(model, lora);
        float[] params = new float[layout.size()];
        for (AdapterLayout.Tensor t : layout.tensors()) {
            String key = byCanonical.get(t.peftKey());
            if (key == null) {
                throw new BadInputException("adapter " + weights + " has no tensor '" + t.peftKey() + "' although it "
                        + "adapts " + t.module().peftName() + " in other layers (an adapter for only some layers, "
                        + "layers_to_transform, is not supported). Fix: export the adapter for every layer");
            }
            TensorInfo info = f.info(key);
            long[] shape = info.shape();
            if (shape.length != 2 || shape[0] != t.rows() || shape[1] != t.cols()) {
                throw new BadInputException("adapter " + weights + ": tensor '" + key + "' has shape "
                        + Arrays.toString(shape) + ", the model needs [" + t.rows() + ", " + t.cols() + "] ("
                        + (t.isA() ? "lora_A is [r, in_features]" : "lora_B is [out_features, r]") + ", r=" + r
                        + "). The adapter was trained for another model or its adapter_config.json has the wrong r; "
                        + "fix: use it with its base model ("
                        + c.path("base_model_name_or_path").asText("?") + ")");
            }
            if (!info.dtype().isFloat()) {
                throw new BadInputException("adapter " + weights + ": tensor '" + key + "' has dtype " + info.dtype()
                        + ", expected F32, F16 or BF16");
            }
            f.readFloats(key, 0, params, t.offset(), t.size());
        }
        return new Loaded(
                lora, layout, params, c.path("base_model_name_or_path").asText(null));
    }

    private static TargetModule moduleOf(String name, String group, String key, Path weights) {
        for (TargetModule t : TargetModule.values()) {
            if (t.peftName().equals(name) && t.group().equals(group)) return t;
        }
        throw new BadInputException("adapter " + weights + ": tensor '" + key + "' adapts '" + group + "." + name
                + "', which is not a linear layer of a LLaMA-family block (q/k/v/o_proj in self_attn, "
                + "gate/up/down_proj in mlp)");
    }

    private static void checkSupported(JsonNode c, Path file) {
        String type = c.path("peft_type").asText("");
        if (!type.equals("LORA")) {
            throw new UnsupportedOperationException(
                    "adapter config " + file + ": peft_type '" + type + "' is not " + "supported, only LORA");
        }
        if (c.path("use_dora").asBoolean(false)) {
            throw new UnsupportedOperationException(
                    "adapter config " + file + ": use_dora is true; DoRA adapters are " + "not supported");
        }
        if (c.path("fan_in_fan_out").asBoolean(false)) {
            throw new UnsupportedOperationException("adapter config " + file + ": fan_in_fan_out is true (GPT-2 "
                    + "Conv1D layout); LLaMA-family adapters use false");
        }
        String bias = c.path("bias").asText("none");
        if (!bias.equals("none")) {
            throw new UnsupportedOperationException("adapter config " + file + ": bias '" + bias + "' (trained biases) "
                    + "is not supported, only 'none'");
        }
        for (String k : new String[] {"rank_pattern", "alpha_pattern"}) {
            JsonNode p = c.get(k);
            if (p != null && !p.isNull() && p.size() > 0) {
                throw new UnsupportedOperationException(
                        "adapter config " + file + ": '" + k + "' (per-module rank or " + "alpha) is not supported");
            }
        }
        JsonNode mts = c.get("modules_to_save");
        if (mts != null && !mts.isNull() && mts.size() > 0) {
            throw new UnsupportedOperationException("adapter config " + file + ": modules_to_save " + mts + " (fully "
                    + "trained extra modules) is not supported");
        }
        JsonNode ltt = c.get("layers_to_transform");
        if (ltt != null && !ltt.isNull()) {
            throw new UnsupportedOperationException("adapter config " + file + ": layers_to_transform " + ltt
                    + " is not supported (adapters must cover every layer)");
        }
    }

    private static JsonNode readJson(Path file) {
        try {
            JsonNode n = JSON.readTree(io.lakelora.error.BoundedReads.readJsonFile(file));
            if (n == null || !n.isObject()) throw new BadInputException(file + ": expected a JSON object");
            return n;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new BadInputException(file + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file, e);
        }
    }

    static void writeAtomically(Path file, JsonNode json) {
        Path tmp = file.resolveSibling(
                "." + file.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.write(tmp, (JSON.writeValueAsString(json) + "\n").getBytes(StandardCharsets.UTF_8));
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + file, e);
        }
    }
}
