package io.lakelora.jobs.export;

import io.lakelora.config.ConfigLoader;
import io.lakelora.jobs.common.JobCommand;
import io.lakelora.jobs.common.SparkSessions;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;

/** {@code lakelora export}: job 04 export adapter. */
@Command(
        name = "export",
        description = "Job 04: registry version (name@version | name@alias | name) -> PEFT adapter "
                + "directory (adapter_config.json, adapter_model.safetensors, lakelora_lineage.json; with gguf=true "
                + "also adapter_model.gguf for llama.cpp).")
public final class ExportCommand extends JobCommand<ExportConfig> {
    @Override
    protected Class<ExportConfig> configType() {
        return ExportConfig.class;
    }

    @Override
    protected Map<String, Object> execute() {
        ExportConfig cfg = loadConfig();
        cfg.validate();
        log("[export] config:\n" + ConfigLoader.toJson(cfg));
        if (printConfig) return new LinkedHashMap<>();
        SparkSession spark = SparkSessions.getOrCreate(cfg, Map.of());
        Map<String, Object> res = ExportAdapterJob.run(spark, cfg, runId).asMap();
        if (cfg.gguf) res.put("adapter_gguf", res.get("dir") + "/" + ExportAdapterJob.GGUF_FILE);
        return res;
    }
}
