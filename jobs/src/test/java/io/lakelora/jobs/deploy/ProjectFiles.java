package io.lakelora.jobs.deploy;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import picocli.CommandLine.Command;

/**
 * Test helpers: the repository root, the root pom's properties, bin/jvm.args, the pipeline's job configs and the
 * commands registered in {@code io.lakelora.jobs.Main}, and running a process.
 */
final class ProjectFiles {
    private ProjectFiles() {}

    static Path root() {
        String r = System.getProperty("lakelora.root");
        assertNotNull(r, "system property lakelora.root (set by surefire in the root pom)");
        return Path.of(r);
    }

    /** A property of the root pom (e.g. delta.version), or the project version for "project.version". */
    static String pom(String name) {
        try {
            Document d = DocumentBuilderFactory.newInstance()
                    .newDocumentBuilder()
                    .parse(root().resolve("pom.xml").toFile());
            Element project = d.getDocumentElement();
            if (name.equals("project.version")) {
                return ((Element) project.getElementsByTagName("version").item(0))
                        .getTextContent()
                        .trim();
            }
            Element props = (Element) project.getElementsByTagName("properties").item(0);
            return props.getElementsByTagName(name).item(0).getTextContent().trim();
        } catch (Exception e) {
            throw new IllegalStateException("reading " + name + " from " + root().resolve("pom.xml"), e);
        }
    }

    /** bin/jvm.args, one flag per line, blank lines dropped. */
    static List<String> jvmArgs() {
        try {
            return Files.readAllLines(root().resolve("bin/jvm.args")).stream()
                    .map(String::strip)
                    .filter(l -> !l.isEmpty())
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The pipeline's job configs conf/NN_*.yaml (00 quantize ... 05 evaluate), in pipeline order. */
    static List<Path> jobConfs() {
        try (Stream<Path> s = Files.list(root().resolve("conf"))) {
            return s.filter(f -> f.getFileName().toString().matches("\\d\\d_[a-z0-9_]+\\.yaml"))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + root().resolve("conf"), e);
        }
    }

    /** The command a job config's header says launches it: "# Launch:    bin/lakelora CMD --config conf/FILE". */
    static String launchCommand(Path conf) {
        try {
            String name = conf.getFileName().toString();
            Matcher m = Pattern.compile(
                            "(?m)^# Launch:\\s+bin/lakelora (\\S+) --config conf/" + Pattern.quote(name) + "\\b")
                    .matcher(Files.readString(conf));
            if (!m.find())
                throw new AssertionError(conf + " has no header line '# Launch:    bin/lakelora <command> "
                        + "--config conf/" + name + "'");
            return m.group(1);
        } catch (IOException e) {
            throw new UncheckedIOException(conf.toString(), e);
        }
    }

    /** The names of the commands io.lakelora.jobs.Main.jobCommands() registers (their picocli @Command names). */
    static Set<String> jobCommandNames() {
        Set<String> names = new LinkedHashSet<>();
        for (Object c : io.lakelora.jobs.Main.jobCommands()) {
            Command a = c.getClass().getAnnotation(Command.class);
            if (a == null) throw new AssertionError(c.getClass().getName() + " in Main.jobCommands() has no @Command");
            names.add(a.name());
        }
        return names;
    }

    record Result(int code, String out) {}

    /** Runs a command in the repository root (stdout and stderr together), failing after 60 s. */
    static Result run(List<String> cmd) throws IOException, InterruptedException {
        return run(cmd, Map.of());
    }

    /** As {@link #run(List)}, with extra environment variables. */
    static Result run(List<String> cmd, Map<String, String> env) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(root().toFile()).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(cmd + " did not finish in 60 s:\n" + out);
        }
        return new Result(p.exitValue(), out);
    }
}
