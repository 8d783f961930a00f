package io.lakelora.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.cli.Cli;
import io.lakelora.jobs.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The whole {@code bin/lakelora} command tree builds (no clashing options) and every command answers --help. */
class MainCliTest {
    static String run(String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            assertEquals(0, Cli.run(args, Main.jobCommands()), String.join(" ", args));
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void everyCommandHasHelp() {
        String top = run("--help");
        for (String c : new String[] {
            "tokenize",
            "quantize",
            "generate",
            "score",
            "grads",
            "train-local",
            "bench-gemm",
            "bench-forward",
            "fetch-assets",
            "export-gguf",
            "kernels",
            "prepare",
            "tokenize-pack",
            "train",
            "bench-data",
            "bench-spark-train",
            "registry",
            "registry list",
            "registry show",
            "registry alias",
            "registry diff"
        }) {
            assertTrue(top.contains(c.split(" ")[0]), "missing command " + c + " in:\n" + top);
            String[] words = (c + " --help").split(" ");
            assertTrue(run(words).contains("Usage: lakelora " + c), c);
        }
    }
}
