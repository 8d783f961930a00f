package io.lakelora.jobs.common;

import io.lakelora.cli.BaseCommand;
import io.lakelora.cli.Cli;
import io.lakelora.config.ConfigLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Base of the Spark job commands: {@code --config FILE} (repeatable; later files override earlier ones, each may
 * {@code extends} others) and {@code key.sub=value} overrides; the config is bound to a typed class (unknown keys
 * rejected) and printed on stderr before any work.
 */
public abstract class JobCommand<C extends CommonConfig> extends BaseCommand {
    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE",
            description = "YAML config (repeatable; later files override earlier ones).")
    protected List<Path> configs = new ArrayList<>();

    @Parameters(paramLabel = "KEY=VALUE", description = "Overrides, e.g. spark.master=local[4] dedup.near.threshold=0.9")
    protected List<String> overrides = new ArrayList<>();

    @Option(names = "--print-config", description = "Print the resolved config and exit without running.")
    protected boolean printConfig;

    @Option(names = "--run-id", paramLabel = "ID", description = "Names this run in job_runs (a rerun with the same id "
            + "replaces that run's record); default: a new time-based id.")
    protected String runId;

    protected abstract Class<C> configType();

    /** Resolves and binds the config (unknown keys and wrong types fail naming the key). */
    protected C loadConfig() {
        return ConfigLoader.load(configs, overrides, configType());
    }

    /** For {@code main(String[])} of a job class (spark-submit): runs one command and exits only on failure. */
    public static void runMain(String name, Object command, String[] args) {
        String[] all = new String[args.length + 1];
        all[0] = name;
        System.arraycopy(args, 0, all, 1, args.length);
        int code = Cli.run(all, List.of(command));
        if (code != 0) System.exit(code);
    }
}
