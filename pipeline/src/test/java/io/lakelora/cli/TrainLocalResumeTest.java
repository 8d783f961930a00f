package io.lakelora.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.train.Checkpoint;
import io.lakelora.util.Assets;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The must-show on the real model (stories260K, NF4 base, LoRA dropout on): a {@code train-local} process
 * killed (SIGKILL) in a child JVM after its second checkpoint and rerun with the same command ends with the same
 * adapter bytes as an uninterrupted run (here, in the test JVM: cross-JVM bit identity).
 */
class TrainLocalResumeTest {
    @TempDir
    Path dir;

    private static List<String> args(Path out) {
        return List.of(
                "train-local",
                "--model",
                Assets.require("models/stories260K-hf").toString(),
                "--data",
                Assets.require("corpora/tinystories_sample.txt").toString(),
                "--out",
                out.toString(),
                "lora.r=4",
                "lora.lora_alpha=8",
                "lora.lora_dropout=0.1",
                "lora.target_modules=all-linear",
                "steps=24",
                "block_size=32",
                "micro_batch=2",
                "grad_accum=2",
                "checkpoint_interval=4",
                "eval_interval=0",
                "eval_fraction=0.1",
                "optimizer.lr=2e-3",
                "quant=nf4",
                "threads=1");
    }

    private static Process start(List<String> cliArgs) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--add-") || a.startsWith("-D") || a.startsWith("-XX:+Ignore")) cmd.add(a);
        }
        cmd.add("-Xmx512m");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Cli.class.getName());
        cmd.addAll(cliArgs);
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    private static java.util.Map<String, Object> runHere(List<String> cliArgs) {
        TrainLocalCommand cmd = new TrainLocalCommand();
        new CommandLine(cmd).parseArgs(cliArgs.subList(1, cliArgs.size()).toArray(String[]::new));
        return cmd.execute();
    }

    @Test
    void killedRunResumedEqualsUninterruptedRun() throws Exception {
        Path whole = dir.resolve("whole");
        assertEquals("done", runHere(args(whole)).get("status"));

        Path out = dir.resolve("killed");
        Process victim = start(args(out));
        StringBuilder log = new StringBuilder();
        try (BufferedReader r =
                new BufferedReader(new InputStreamReader(victim.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                log.append(line).append('\n');
                if (line.startsWith("checkpoint ") && line.endsWith("step-00000008.ckpt")) {
                    victim.destroyForcibly(); // SIGKILL: no shutdown hooks, no final checkpoint
                    break;
                }
            }
        }
        assertTrue(victim.waitFor(30, TimeUnit.SECONDS));
        assertFalse(Files.exists(out.resolve("adapter_model.safetensors")), "killed before the end:\n" + log);
        long lastStep = Long.parseLong(Checkpoint.latest(out.resolve("checkpoints"))
                .orElseThrow()
                .getFileName()
                .toString()
                .replaceAll("\\D", ""));
        assertTrue(lastStep >= 8 && lastStep < 24, "killed mid-run, newest checkpoint step " + lastStep);

        // rerun the same command (here, in this JVM): it resumes and finishes
        var result = runHere(args(out));
        assertEquals(lastStep, result.get("resumed_from_step"));
        assertEquals("done", result.get("status"));

        assertArrayEquals(
                Files.readAllBytes(whole.resolve("adapter_model.safetensors")),
                Files.readAllBytes(out.resolve("adapter_model.safetensors")),
                "final adapters differ");
        assertArrayEquals(
                Files.readAllBytes(whole.resolve("checkpoints/step-00000024.ckpt")),
                Files.readAllBytes(out.resolve("checkpoints/step-00000024.ckpt")),
                "final checkpoints differ");
    }
}
