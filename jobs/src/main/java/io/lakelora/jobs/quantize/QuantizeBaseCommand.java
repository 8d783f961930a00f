package io.lakelora.jobs.quantize;

import io.lakelora.config.ConfigLoader;
import io.lakelora.jobs.common.JobCommand;
import io.lakelora.jobs.common.SparkSessions;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;

/** {@code lakelora quantize-base}: job 00 quantize base. */
@Command(
        name = "quantize-base",
        description = "Job 00: base model (local or lake) -> NF4/FP4/INT8 copy in the lake "
                + "(<lake>/models/<id>-<quant>), layer by layer, idempotent.")
public final class QuantizeBaseCommand extends JobCommand<QuantizeConfig> {
    @Override
    protected Class<QuantizeConfig> configType() {
        return QuantizeConfig.class;
    }

    @Override
    protected Map<String, Object> execute() {
        QuantizeConfig cfg = loadConfig();
        cfg.validate();
        log("[quantize-base] config:\n" + ConfigLoader.toJson(cfg));
        if (printConfig) return new LinkedHashMap<>();
        SparkSession spark = SparkSessions.getOrCreate(cfg, Map.of());
        return QuantizeBaseJob.run(spark, cfg, runId).asMap();
    }
}
