package io.lakelora.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.ExitCodes;
import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Option;

/**
 * Base of every CLI command: {@code --json} switches the final output to one JSON object on stdout; progress and logs
 * go to stderr. Subclasses implement {@link #execute()} and return the result as an ordered map.
 */
public abstract class BaseCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--json", description = "Print the result as one JSON object on stdout.")
    protected boolean json;

    @Option(
            names = {"-h", "--help"},
            usageHelp = true,
            description = "Show this help and exit.")
    protected boolean help;

    /** Runs the command; returns the result fields to print (insertion-ordered). */
    protected abstract Map<String, Object> execute() throws Exception;

    /** Human-readable rendering of the result; default prints key: value lines. */
    protected void printHuman(Map<String, Object> result, PrintStream out) {
        result.forEach((k, v) -> out.println(k + ": " + v));
    }

    @Override
    public final Integer call() throws Exception {
        Map<String, Object> result = execute();
        if (result != null) {
            if (json) {
                try {
                    System.out.println(JSON.writeValueAsString(result));
                } catch (JsonProcessingException e) {
                    throw new IllegalStateException(e);
                }
            } else {
                printHuman(result, System.out);
            }
        }
        return ExitCodes.OK;
    }

    /** Progress and log lines (stderr, so stdout stays machine-readable). */
    protected static void log(String line) {
        System.err.println(line);
    }
}
