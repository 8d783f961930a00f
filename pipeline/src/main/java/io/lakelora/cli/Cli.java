package io.lakelora.cli;

import io.lakelora.error.BadInputException;
import io.lakelora.error.ExitCodes;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code lakelora} command line. Engine commands live in this module; the jobs module adds the Spark jobs through
 * {@link #run(String[], List)}. Exceptions map to {@link ExitCodes} with a one-line error on stderr.
 */
@Command(
        name = "lakelora",
        mixinStandardHelpOptions = true,
        version = "LakeLoRA 0.1.0",
        description = "QLoRA fine-tuning of open LLMs on Apache Spark, where the data already lives.")
public final class Cli implements Runnable {

    /** The engine commands (one line per command). */
    public static List<Object> engineCommands() {
        List<Object> cmds = new ArrayList<>();
        cmds.add(new TokenizeCommand());
        cmds.add(new TrainLocalCommand());
        cmds.add(new QuantizeCommand());
        cmds.add(new BenchGemmCommand());
        cmds.add(new io.lakelora.cli.GenerateCommand());
        cmds.add(new io.lakelora.cli.ScoreCommand());
        cmds.add(new io.lakelora.cli.BenchForwardCommand());
        cmds.add(new io.lakelora.cli.GradsCommand());
        cmds.add(new io.lakelora.cli.BenchTrainCommand());
        cmds.add(new FetchAssetsCommand());
        cmds.add(new ExportGgufCommand());
        cmds.add(new KernelsCommand());
        cmds.add(new GpuCheckCommand());
        return cmds;
    }

    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }

    public static void main(String[] args) {
        System.exit(run(args, List.of()));
    }

    private static volatile String lastError;

    /** The last one-line error this process printed (without {@code error: }), or null. */
    public static String lastError() {
        return lastError;
    }

    /** Builds the CLI with the engine commands plus {@code extra} and runs it; returns the exit code. */
    public static int run(String[] args, List<Object> extra) {
        CommandLine cl = new CommandLine(new Cli());
        for (Object c : engineCommands()) cl.addSubcommand(c);
        for (Object c : extra) cl.addSubcommand(c);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            int code = exitCodeFor(ex);
            String msg = ex.getMessage() == null ? ex.toString() : ex.getMessage();
            lastError = msg.lines().findFirst().orElse(msg);
            System.err.println("error: " + lastError);
            if (code == ExitCodes.INTERNAL || Boolean.getBoolean("lakelora.trace")) ex.printStackTrace();
            return code;
        });
        cl.setParameterExceptionHandler((ex, a) -> {
            lastError = ex.getMessage();
            System.err.println("error: " + ex.getMessage());
            System.err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
            return ExitCodes.BAD_CONFIG;
        });
        return cl.execute(args);
    }

    /**
     * Exception type -> exit code (see STYLE.md: which exception means what; docs/exit-codes.md). In order: a
     * {@link BadInputException} anywhere in the cause chain is bad input; an {@link IllegalArgumentException} thrown
     * by our code is bad config, even when it wraps a parser's exception (unknown key, wrong type); a JSON/YAML parse
     * error anywhere in the chain is bad input (a malformed file), other I/O errors are infrastructure;
     * {@link UnsupportedOperationException} is an input format we don't handle; everything else is internal.
     */
    public static int exitCodeFor(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof BadInputException) return ExitCodes.BAD_INPUT;
        }
        if (ex instanceof IllegalArgumentException) return ExitCodes.BAD_CONFIG;
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof com.fasterxml.jackson.core.JsonProcessingException) return ExitCodes.BAD_INPUT;
        }
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof UncheckedIOException || t instanceof java.io.IOException) return ExitCodes.INFRASTRUCTURE;
        }
        if (ex instanceof UnsupportedOperationException) return ExitCodes.BAD_INPUT;
        return ExitCodes.INTERNAL;
    }
}
