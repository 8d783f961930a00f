package io.lakelora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.config.ConfigLoader;
import io.lakelora.error.ExitCodes;
import io.lakelora.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The exit codes through the real CLI path (picocli + Cli's handlers), with failures raised by the code that raises
 * them in the project (ConfigLoader, Tokenizer, Jackson), and docs/exit-codes.md's table checked against ExitCodes.
 */
class ExitCodesTest {

    /** Config classes for ConfigLoader (keys like the training config's). */
    public static class Lora {
        public int r = 64;
        public double lora_alpha = 16;
    }

    public static class Conf {
        public Lora lora = new Lora();
        public int steps;
    }

    /** Something a command does, which may throw. */
    interface Action {
        void run() throws Exception;
    }

    /** A command with one required option that runs an {@link Action}. */
    @Command(name = "probe")
    static final class Probe extends BaseCommand {
        private final Action action;

        @Option(names = "--needed", required = true)
        String needed;

        Probe(Action action) {
            this.action = action;
        }

        @Override
        protected Map<String, Object> execute() throws Exception {
            action.run();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("ok", true);
            return m;
        }
    }

    record Outcome(int code, String err) {}

    private static Outcome run(Action action, String... args) {
        PrintStream savedErr = System.err;
        PrintStream savedOut = System.out;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            System.setOut(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            int code = Cli.run(args, List.of(new Probe(action)));
            return new Outcome(code, err.toString(StandardCharsets.UTF_8).replace("\r", ""));
        } finally {
            System.setErr(savedErr);
            System.setOut(savedOut);
        }
    }

    private static Outcome probe(Action action) {
        return run(action, "probe", "--needed", "x");
    }

    @Test
    void successIsZero() {
        assertEquals(ExitCodes.OK, probe(() -> {}).code());
    }

    @Test
    void configErrorsAreTwoEvenWhenTheyWrapParserExceptions(@TempDir Path dir) throws Exception {
        Path unknown = Files.writeString(dir.resolve("unknown.yaml"), "lora:\n  rank: 8\n");
        Path wrongType = Files.writeString(dir.resolve("type.yaml"), "steps: ten\n");
        Path notYaml = Files.writeString(dir.resolve("broken.yaml"), "lora: [1, 2\n");
        for (Path f : List.of(unknown, wrongType, notYaml, dir.resolve("missing.yaml"))) {
            Outcome o = probe(() -> ConfigLoader.load(List.of(f), List.of(), Conf.class));
            assertEquals(ExitCodes.BAD_CONFIG, o.code(), f + ": " + o.err());
            assertTrue(o.err().startsWith("error: config"), o.err());
        }
        Outcome o = probe(() -> ConfigLoader.load(List.of(unknown), List.of(), Conf.class));
        assertTrue(o.err().contains("unknown key 'lora.rank'"), o.err());
        Outcome badOverride = probe(() -> ConfigLoader.load(List.of(), List.of("steps"), Conf.class));
        assertEquals(ExitCodes.BAD_CONFIG, badOverride.code(), badOverride.err());
    }

    @Test
    void commandLineErrorsAreTwo() {
        Outcome missing = run(() -> {}, "probe");
        assertEquals(ExitCodes.BAD_CONFIG, missing.code());
        assertTrue(missing.err().startsWith("error: Missing required option: '--needed"), missing.err());
        assertTrue(missing.err().contains("Try 'lakelora probe --help'."), missing.err());
        assertEquals(
                ExitCodes.BAD_CONFIG,
                run(() -> {}, "probe", "--needed", "x", "--nope").code());
        assertEquals(ExitCodes.BAD_CONFIG, run(() -> {}, "no-such-command").code());
    }

    @Test
    void badInputIsThree(@TempDir Path dir) throws Exception {
        Path empty = Files.writeString(dir.resolve("tokenizer.json"), "{}");
        Outcome o = probe(() -> Tokenizer.load(empty).close());
        assertEquals(ExitCodes.BAD_INPUT, o.code(), o.err());
        assertTrue(o.err().startsWith("error: tokenizer " + empty), o.err());
        assertEquals(
                ExitCodes.BAD_INPUT,
                probe(() -> Tokenizer.load(dir.resolve("nope.json")).close()).code());
        // a malformed JSON row met while reading data: the parser's error, wrapped as an I/O failure
        Outcome malformed = probe(() -> {
            try {
                new ObjectMapper().readTree("{\"text\": ");
            } catch (IOException e) {
                throw new UncheckedIOException("reading rows.jsonl", e);
            }
        });
        assertEquals(ExitCodes.BAD_INPUT, malformed.code(), malformed.err());
        assertEquals(
                ExitCodes.BAD_INPUT,
                probe(() -> {
                            throw new UnsupportedOperationException("GGUF Q5_K tensors are not supported");
                        })
                        .code());
    }

    @Test
    void ioFailuresAreFour() {
        Outcome denied = probe(() -> {
            throw new UncheckedIOException("writing /lake/tables/x", new AccessDeniedException("/lake/tables/x"));
        });
        assertEquals(ExitCodes.INFRASTRUCTURE, denied.code());
        assertEquals("error: writing /lake/tables/x\n", denied.err(), "one line, no stack trace");
        // a framework exception (as Spark throws them) caused by an I/O error
        assertEquals(
                ExitCodes.INFRASTRUCTURE,
                probe(() -> {
                            throw new RuntimeException(
                                    "Job aborted", new java.net.ConnectException("Connection refused"));
                        })
                        .code());
    }

    @Test
    void anythingElseIsOneWithAStackTrace() {
        Outcome o = probe(() -> {
            throw new IllegalStateException("step() before init()");
        });
        assertEquals(ExitCodes.INTERNAL, o.code());
        assertTrue(o.err().startsWith("error: step() before init()\n"), o.err());
        assertTrue(o.err().contains("java.lang.IllegalStateException: step() before init()"), "stack trace printed");
        assertEquals(
                ExitCodes.INTERNAL,
                probe(() -> {
                            throw new NullPointerException();
                        })
                        .code());
    }

    @Test
    void docTableAndExamplesMatchExitCodes() throws Exception {
        String root = System.getProperty("lakelora.root");
        assertNotNull(root, "system property lakelora.root");
        String doc = Files.readString(Path.of(root, "docs/exit-codes.md"));
        Matcher m = Pattern.compile("(?m)^\\| (\\d) \\| `([A-Z_]+)` \\|").matcher(doc);
        Map<String, Integer> documented = new LinkedHashMap<>();
        while (m.find()) documented.put(m.group(2), Integer.parseInt(m.group(1)));
        Map<String, Integer> declared = new LinkedHashMap<>();
        for (Field f : ExitCodes.class.getFields()) declared.put(f.getName(), f.getInt(null));
        assertEquals(declared, documented, "docs/exit-codes.md table vs io.lakelora.error.ExitCodes");
        for (int code : declared.values()) {
            assertTrue(doc.contains("\n" + code + ", "), "an example paragraph for exit code " + code);
        }
    }
}
