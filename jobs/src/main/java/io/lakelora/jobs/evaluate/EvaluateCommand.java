package io.lakelora.jobs.evaluate;

import io.lakelora.config.ConfigLoader;
import io.lakelora.jobs.common.JobCommand;
import io.lakelora.jobs.common.SparkSessions;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;

/** {@code lakelora evaluate}: job 05 evaluate. */
@Command(
        name = "evaluate",
        description = "Job 05: adapter version -> eval loss and perplexity (vs the base model) on "
                + "a pinned token_blocks split, sample generations, registry eval row, run report.")
public final class EvaluateCommand extends JobCommand<EvaluateConfig> {
    @Override
    protected Class<EvaluateConfig> configType() {
        return EvaluateConfig.class;
    }

    @Override
    protected Map<String, Object> execute() {
        EvaluateConfig cfg = loadConfig();
        cfg.validate();
        log("[evaluate] config:\n" + ConfigLoader.toJson(cfg));
        if (printConfig) return new LinkedHashMap<>();
        SparkSession spark = SparkSessions.getOrCreate(cfg, Map.of());
        return EvaluateJob.run(spark, cfg, runId).asMap();
    }
}
