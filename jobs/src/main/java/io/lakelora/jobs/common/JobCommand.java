package io.lakelora.jobs.common;

import io.lakelora.cli.BaseCommand;
import io.lakelora.cli.Cli;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Base of the Spark job commands: {@code --config FILE} (repeatable; later files override earlier ones, each may
 * {@code extends} others; a local path or any Hadoop URI), the environment overlay ({@code env=yarn}; see
 * {@link JobConfigs}) and {@code key.sub=value} overrides; the config is bound to a typed class (unknown keys
 * rejected) and printed on stderr before any work.
 */
public abstract class JobCommand<C extends CommonConfig> extends BaseCommand {
    @Option(
            names = {"-c", "--config"},
            required = true,
            paramLabel = "FILE",
            description = "YAML config: a local path or a URI (s3a://, abfss://, dbfs:/, /Volumes/...); repeatable, "
                    + "later files override earlier ones.")
    protected List<String> configs = new ArrayList<>();

    @Parameters(
            paramLabel = "KEY=VALUE",
            description =
                    "Overrides, e.g. env=yarn lake.root=s3a://bucket/lake "
                            + "dedup.near.threshold=0.9 (env picks the overlay conf/env/<env>.yaml; bin/lakelora defaults to local)")
    protected List<String> overrides = new ArrayList<>();

    @Option(names = "--print-config", description = "Print the resolved config and exit without running.")
    protected boolean printConfig;

    @Option(
            names = "--run-id",
            paramLabel = "ID",
            description = "Names this run in job_runs (a rerun with the same id "
                    + "replaces that run's record); default: a new time-based id.")
    protected String runId;

    protected abstract Class<C> configType();

    /** Resolves and binds the config (unknown keys and wrong types fail naming the key). */
    protected C loadConfig() {
        return JobConfigs.load(configs, overrides, configType());
    }

    /** For {@code main(String[])} of a job class (spark-submit): runs one command; see {@link #finish}. */
    public static void runMain(String name, Object command, String[] args) {
        String[] all = new String[args.length + 1];
        all[0] = name;
        System.arraycopy(args, 0, all, 1, args.length);
        finish(Cli.run(all, List.of(command)));
    }

    /**
     * Ends a launcher's {@code main}: stops the Spark session if this process created it, then returns normally on
     * success (YARN's ApplicationMaster marks an app that calls {@code System.exit} FAILED, and Databricks JAR tasks
     * treat any exit as an error). A failure exits with its code (the one-line error is already on stderr), except
     * where the platform runs {@code main} inside its own process: on Databricks and in a YARN cluster-mode driver
     * (the ApplicationMaster) it throws, so the platform reports the failure with the error line as its reason
     * (an exit there would read "Shutdown hook called before final status was reported").
     */
    public static void finish(int code) {
        SparkSessions.stopIfCreated();
        if (code == 0) return;
        if (SparkSessions.onDatabricks() || SparkSessions.inYarnClusterDriver()) {
            String error = io.lakelora.cli.Cli.lastError();
            throw new IllegalStateException("LakeLoRA job failed with exit code " + code
                    + (error == null ? " (see the error above)" : ": " + error));
        }
        System.exit(code);
    }
}
