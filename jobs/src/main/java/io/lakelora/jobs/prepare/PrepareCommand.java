package io.lakelora.jobs.prepare;

import io.lakelora.config.ConfigLoader;
import io.lakelora.jobs.common.JobCommand;
import io.lakelora.jobs.common.SparkSessions;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;

/** {@code lakelora prepare}: job 01 prepare corpus. */
@Command(
        name = "prepare",
        description = "Job 01: corpora -> Delta corpus_clean + corpus_quarantine (clean, PII scrub, "
                + "filter, exact + MinHash near dedup).")
public final class PrepareCommand extends JobCommand<PrepareConfig> {
    @Override
    protected Class<PrepareConfig> configType() {
        return PrepareConfig.class;
    }

    @Override
    protected Map<String, Object> execute() {
        PrepareConfig cfg = loadConfig();
        cfg.validate();
        log("[prepare] config:\n" + ConfigLoader.toJson(cfg));
        if (printConfig) return new LinkedHashMap<>();
        SparkSession spark = SparkSessions.getOrCreate(cfg, Map.of());
        return PrepareCorpusJob.run(spark, cfg, runId).asMap();
    }
}
