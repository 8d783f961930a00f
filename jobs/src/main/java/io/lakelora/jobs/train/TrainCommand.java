package io.lakelora.jobs.train;

import io.lakelora.config.ConfigLoader;
import io.lakelora.jobs.common.JobCommand;
import io.lakelora.jobs.common.SparkSessions;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;

/** {@code lakelora train}: job 03 train adapter (data-parallel QLoRA on Spark -> Delta adapter registry). */
@Command(
        name = "train",
        description =
                "Job 03: Delta token_blocks -> data-parallel QLoRA on the executors -> a new "
                        + "adapter version in the Delta registry, PEFT files and a run report. Reruns resume from the last checkpoint.")
public final class TrainCommand extends JobCommand<TrainJobConfig> {
    // --run-id (JobCommand): the same id resumes the same run and registers once; default derived from the config
    @Override
    protected Class<TrainJobConfig> configType() {
        return TrainJobConfig.class;
    }

    @Override
    protected Map<String, Object> execute() {
        TrainJobConfig cfg = loadConfig();
        cfg.validate();
        log("[train] config:\n" + ConfigLoader.toJson(cfg));
        if (printConfig) return new LinkedHashMap<>();
        SparkSession spark = SparkSessions.getOrCreate(cfg, Map.of());
        return TrainJob.run(spark, cfg, runId).asMap();
    }

    /** spark-submit entry point: {@code --class io.lakelora.jobs.train.TrainCommand}. */
    public static void main(String[] args) {
        runMain("train", new TrainCommand(), args);
    }
}
