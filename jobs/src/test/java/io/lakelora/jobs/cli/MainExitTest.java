package io.lakelora.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.Main;
import io.lakelora.jobs.testing.Confs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code io.lakelora.jobs.Main} in its own JVM, as spark-submit, YARN's ApplicationMaster and Databricks call it:
 * on success {@code main} returns (it never calls {@code System.exit}, which YARN cluster mode reports as FAILED and
 * Databricks as an error); a failure exits non-zero with a one-line error.
 */
class MainExitTest {
    /** Calls Main.main, then prints a marker and exits with 42: a Main that exits itself never gets there. */
    public static final class Wrapper {
        public static void main(String[] args) {
            Main.main(args);
            System.out.println("MAIN RETURNED");
            System.exit(42);
        }
    }

    record Run(int code, String out) {}

    static Run run(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                Wrapper.class.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd)
                .directory(Confs.root().toFile())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        return new Run(p.exitValue(), out);
    }

    @Test
    void mainReturnsOnSuccess() throws Exception {
        Run r = run("prepare", "--config", "conf/01_prepare_corpus.yaml", "--print-config");
        assertEquals(42, r.code(), "Main.main returned instead of exiting:\n" + r.out());
        assertTrue(r.out().contains("MAIN RETURNED"), r.out());
    }

    @Test
    void aFailingJobExitsNonZeroWithOneErrorLine() throws Exception {
        Run r = run("train", "--config", "conf/no_such_job.yaml");
        assertEquals(2, r.code(), r.out());
        List<String> errors =
                r.out().lines().filter(l -> l.startsWith("error: ")).toList();
        assertEquals(1, errors.size(), r.out());
        assertTrue(
                errors.get(0).contains("config file not found") && errors.get(0).contains("Fix:"), errors.get(0));
        assertTrue(!r.out().contains("MAIN RETURNED"), r.out());
    }
}
