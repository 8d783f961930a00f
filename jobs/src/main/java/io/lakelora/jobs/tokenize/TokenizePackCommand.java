package io.lakelora.jobs.tokenize;

import io.lakelora.config.ConfigLoader;
import io.lakelora.jobs.common.JobCommand;
import io.lakelora.jobs.common.SparkSessions;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;

/** {@code lakelora tokenize-pack}: job 02 tokenize and pack. */
@Command(
        name = "tokenize-pack",
        description = "Job 02: Delta corpus_clean -> Delta token_blocks (chat template, "
                + "tokenizer, loss masks, packed fixed-length blocks, train/eval split).")
public final class TokenizePackCommand extends JobCommand<TokenizeConfig> {
    @Override
    protected Class<TokenizeConfig> configType() {
        return TokenizeConfig.class;
    }

    @Override
    protected Map<String, Object> execute() {
        TokenizeConfig cfg = loadConfig();
        cfg.validate();
        log("[tokenize-pack] config:\n" + ConfigLoader.toJson(cfg));
        if (printConfig) return new LinkedHashMap<>();
        SparkSession spark = SparkSessions.getOrCreate(cfg, Map.of());
        return TokenizePackJob.run(spark, cfg, runId).asMap();
    }
}
