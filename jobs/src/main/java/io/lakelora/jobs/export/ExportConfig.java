package io.lakelora.jobs.export;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.lakelora.jobs.common.CommonConfig;

/** Config of job 04 export adapter ({@code conf/04_export.yaml}). */
public class ExportConfig extends CommonConfig {
    private static final long serialVersionUID = 1L;

    /** The version to export: {@code name@3}, {@code name@production} (an alias), {@code name} or {@code name@latest}. */
    @JsonProperty("adapter")
    public String adapter;
    /** Target directory (local path or lake URI); null: {@code <lake.root>/exports/<name>/v<version>}. */
    @JsonProperty("out")
    public String out;
    /**
     * Also write {@code adapter_model.gguf}, the adapter as a llama.cpp LoRA GGUF (F32), to load in llama.cpp or
     * Ollama beside a GGUF of its base ({@code bin/lakelora export-gguf} writes one).
     */
    @JsonProperty("gguf")
    public boolean gguf;
    /**
     * For {@code gguf}: the base model directory (local path or lake URI) whose {@code config.json} gives the shapes;
     * null: the lake copy job 00 recorded for the adapter's base model id.
     */
    @JsonProperty("model_path")
    public String modelPath;

    public void validate() {
        validateCommon();
        if (adapter == null || adapter.isBlank()) {
            throw new IllegalArgumentException("config key 'adapter' is empty. Fix: name the version to export, e.g. "
                    + "adapter=stories260k-shakespeare@latest, adapter=NAME@3 or adapter=NAME@production");
        }
    }
}
