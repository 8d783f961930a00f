package io.lakelora.jobs;

import io.lakelora.cli.Cli;
import java.util.ArrayList;
import java.util.List;

/** {@code bin/lakelora}: the engine commands plus the Spark jobs. */
public final class Main {
    private Main() {}

    /** The Spark job commands (one line per command). */
    public static List<Object> jobCommands() {
        List<Object> cmds = new ArrayList<>();
        cmds.add(new io.lakelora.jobs.quantize.QuantizeBaseCommand());
        cmds.add(new io.lakelora.jobs.prepare.PrepareCommand());
        cmds.add(new io.lakelora.jobs.tokenize.TokenizePackCommand());
        cmds.add(new io.lakelora.jobs.train.TrainCommand());
        cmds.add(new io.lakelora.jobs.export.ExportCommand());
        cmds.add(new io.lakelora.jobs.evaluate.EvaluateCommand());
        cmds.add(new io.lakelora.jobs.demo.DemoCommand());
        cmds.add(new io.lakelora.jobs.bench.BenchDataCommand());
        cmds.add(new io.lakelora.jobs.bench.BenchSparkTrainCommand());
        cmds.add(new io.lakelora.jobs.registry.RegistryCommand());
        return cmds;
    }

    /**
     * Returns normally on success (never {@code System.exit(0)}: YARN and Databricks count that as a failure); a
     * failure exits with its code after a one-line error (docs/exit-codes.md).
     */
    public static void main(String[] args) {
        io.lakelora.jobs.common.JobCommand.finish(Cli.run(args, jobCommands()));
    }
}
