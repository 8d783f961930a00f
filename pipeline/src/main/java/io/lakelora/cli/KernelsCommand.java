package io.lakelora.cli;

import io.lakelora.kernel.KernelProvider;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lakelora kernels [--measure]}: the CPU backend's vector width and row blocking on this machine, how they were
 * chosen (measured once per machine and cached, or forced with {@code -Dlakelora.vector.bits}), and the one-thread
 * GEMM speed measured at each width.
 */
@Command(
        name = "kernels",
        description = "Show the vector width and blocking chosen for this machine (measured once, cached); "
                + "--measure measures again.")
public final class KernelsCommand extends BaseCommand {
    @Option(names = "--measure", description = "Forget this machine's cached choice and measure again (a few seconds).")
    boolean measure;

    @Override
    protected Map<String, Object> execute() {
        return KernelProvider.vectorChoice(measure);
    }
}
