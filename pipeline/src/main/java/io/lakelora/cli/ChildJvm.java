package io.lakelora.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a command of this CLI in a fresh JVM (same java binary, classpath and JVM flags as this process, with its own
 * {@code -Xmx}), so that its peak RSS is its own. stderr is passed through; the last stdout line is read as JSON.
 */
final class ChildJvm {
    private ChildJvm() {}

    /** The java command line for {@code io.lakelora.cli.Cli args...} with heap {@code heap} (e.g. "6g"). */
    static List<String> command(String heap, List<String> args) {
        String java = ProcessHandle.current()
                .info()
                .command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        boolean vector = false;
        for (String f : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            // our own heap below; no agents (a debugger port or a coverage file would clash with the parent's)
            if (f.startsWith("-Xmx")
                    || f.startsWith("-Xms")
                    || f.startsWith("-XX:MaxRAM")
                    || f.startsWith("-javaagent")
                    || f.startsWith("-agentlib")
                    || f.startsWith("-agentpath")) {
                continue;
            }
            vector |= f.contains("jdk.incubator.vector");
            cmd.add(f);
        }
        if (!vector) cmd.add("--add-modules=jdk.incubator.vector");
        cmd.add("-Xmx" + heap);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("io.lakelora.cli.Cli");
        cmd.addAll(args);
        return cmd;
    }

    /** Runs the child to completion and returns its JSON result (the last line of its stdout). */
    static JsonNode run(String heap, List<String> args, long timeoutMinutes) throws IOException, InterruptedException {
        List<String> cmd = command(heap, args);
        Process p = new ProcessBuilder(cmd)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String stdout;
        try {
            stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(timeoutMinutes, TimeUnit.MINUTES)) {
                throw new IllegalStateException(
                        "child JVM did not finish within " + timeoutMinutes + " minutes: " + String.join(" ", args));
            }
        } finally {
            if (p.isAlive()) p.destroyForcibly();
        }
        String last = stdout.lines().reduce((x, y) -> y).orElse("");
        if (p.exitValue() != 0 || !last.startsWith("{")) {
            throw new IllegalStateException("child JVM '" + String.join(" ", args) + "' (-Xmx" + heap + ") failed with"
                    + " exit code " + p.exitValue() + (last.isEmpty() ? "" : ", last output: " + last)
                    + "; its stderr is above. If it ran out of memory, pass a larger --heap");
        }
        return new ObjectMapper().readTree(last);
    }
}
