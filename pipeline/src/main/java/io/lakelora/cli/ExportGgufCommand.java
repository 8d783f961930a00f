package io.lakelora.cli;

import io.lakelora.gguf.GgmlType;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.ModelConfig;
import io.lakelora.peft.GgufExport;
import io.lakelora.peft.PeftAdapter;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lakelora export-gguf}: a model and its LoRA adapter as GGUF files for llama.cpp and Ollama: the base model
 * ({@code base-TYPE.gguf}), the adapter as a llama.cpp LoRA ({@code adapter-TYPE.gguf}, to load beside the base) and
 * the merged model ({@code merged-TYPE.gguf}).
 */
@Command(
        name = "export-gguf",
        description = "Write a model (base or merged with an adapter) and a LoRA adapter as GGUF for llama.cpp/Ollama.")
public final class ExportGgufCommand extends BaseCommand {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Base model (Hugging Face layout).")
    Path model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "A PEFT LoRA adapter directory of this model.")
    Path adapter;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory for the .gguf files.")
    Path out;

    @Option(
            names = "--write",
            split = ",",
            paramLabel = "WHAT",
            description = "Any of base, adapter, merged (default: adapter with --adapter, else base).")
    List<String> write;

    @Option(
            names = "--type",
            split = ",",
            paramLabel = "TYPE",
            description = "Weight types of base/merged files: f32, f16, bf16, q8_0 (default f16; several: f16,q8_0).")
    List<String> types = List.of("f16");

    @Option(
            names = "--adapter-type",
            paramLabel = "TYPE",
            description = "Type of the adapter's A/B tensors: f32 (default, exact), f16, bf16 or q8_0.")
    String adapterType = "f32";

    @Override
    protected Map<String, Object> execute() {
        Set<String> what = new LinkedHashSet<>();
        for (String w : write == null ? List.of(adapter == null ? "base" : "adapter") : write) {
            String k = w.trim().toLowerCase(Locale.ROOT);
            if (!k.equals("base") && !k.equals("adapter") && !k.equals("merged")) {
                throw new IllegalArgumentException(
                        "--write takes base, adapter and merged, not '" + w + "'. Fix: e.g. --write base,adapter");
            }
            what.add(k);
        }
        if (adapter == null && (what.contains("adapter") || what.contains("merged"))) {
            throw new IllegalArgumentException("--write " + String.join(",", what) + " needs --adapter DIR");
        }
        List<GgmlType> modelTypes = new ArrayList<>();
        for (String t : types) modelTypes.add(GgmlType.parse(t));
        GgmlType aType = GgmlType.parse(adapterType);
        ModelConfig cfg = LlamaLoader.config(model);
        PeftAdapter.Loaded a = adapter == null ? null : PeftAdapter.load(adapter, cfg);
        List<Map<String, Object>> files = new ArrayList<>();
        if (what.contains("base")) {
            for (GgmlType t : modelTypes) {
                files.add(entry("base", t, GgufExport.writeModel(model, null, t, file("base", t))));
            }
        }
        if (what.contains("adapter")) {
            String name = model.toAbsolutePath().normalize().getFileName() + "-lora";
            files.add(entry("adapter", aType, GgufExport.writeAdapter(a, cfg, aType, file("adapter", aType), name)));
        }
        if (what.contains("merged")) {
            for (GgmlType t : modelTypes) {
                files.add(entry("merged", t, GgufExport.writeModel(model, a, t, file("merged", t))));
            }
        }
        Map<String, Object> res = new LinkedHashMap<>();
        res.put("files", files);
        return res;
    }

    private Path file(String kind, GgmlType t) {
        return out.resolve(kind + "-" + t.cliName() + ".gguf");
    }

    private static Map<String, Object> entry(String kind, GgmlType t, GgufExport.Written w) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", kind);
        m.put("type", t.cliName());
        m.putAll(w.asMap());
        return m;
    }

    @Override
    @SuppressWarnings("unchecked")
    protected void printHuman(Map<String, Object> result, PrintStream o) {
        for (Map<String, Object> f : (List<Map<String, Object>>) result.get("files")) {
            o.printf(
                    "%-8s %-5s %s (%,d bytes, tensors %s)%n",
                    f.get("kind"), f.get("type"), f.get("file"), f.get("bytes"), f.get("tensor_types"));
        }
    }
}
