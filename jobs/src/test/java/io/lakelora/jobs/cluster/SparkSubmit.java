package io.lakelora.jobs.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs {@code spark-submit} as its script does ({@code java -cp "$SPARK_HOME/jars/*" org.apache.spark.deploy.SparkSubmit
 * ARGS}) from the repository root, and returns the exit code and the output (also kept in a log file).
 */
public final class SparkSubmit {
    /** One finished submission. */
    public record Result(int exitCode, String output, Path log) {
        /** The application id the driver connected with (client mode), or null. */
        public String appId() {
            Matcher m = Pattern.compile("app-\\d{14}-\\d{4}").matcher(output);
            return m.find() ? m.group() : null;
        }

        /** The YARN application id the client submitted, or null. */
        public String yarnAppId() {
            Matcher m = Pattern.compile("application_\\d+_\\d{4}").matcher(output);
            return m.find() ? m.group() : null;
        }

        public String describe() {
            String tail = output.length() > 6000 ? output.substring(output.length() - 6000) : output;
            return "exit " + exitCode + ", log " + log + ":\n" + tail;
        }
    }

    private SparkSubmit() {}

    /**
     * Submits with {@code args} (everything after {@code spark-submit}); {@code env} adds environment variables.
     */
    public static Result run(
            StandaloneCluster cluster, List<String> args, Map<String, String> env, Path log, long timeoutSeconds) {
        return run(cluster.home(), cluster.env(), null, args, env, log, timeoutSeconds);
    }

    /**
     * Submits from the SPARK_HOME {@code home} with {@code baseEnv} and {@code env}; {@code hadoopConfDir} (or null)
     * comes first on the classpath, as the spark-submit script puts {@code HADOOP_CONF_DIR} there (how the YARN
     * client finds the ResourceManager).
     */
    public static Result run(
            Path home,
            Map<String, String> baseEnv,
            Path hadoopConfDir,
            List<String> args,
            Map<String, String> env,
            Path log,
            long timeoutSeconds) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-cp");
        cmd.add((hadoopConfDir == null ? "" : hadoopConfDir + java.io.File.pathSeparator) + home.resolve("jars")
                + "/*");
        cmd.addAll(TestCluster.jvmFlags());
        cmd.add("-Xmx2g");
        cmd.add("org.apache.spark.deploy.SparkSubmit");
        cmd.addAll(args);
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd)
                    .directory(TestCluster.root().toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            pb.environment().putAll(baseEnv);
            if (hadoopConfDir != null) pb.environment().put("HADOOP_CONF_DIR", hadoopConfDir.toString());
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                return new Result(124, Files.readString(log) + "\n[test] killed after " + timeoutSeconds + " s", log);
            }
            return new Result(p.exitValue(), Files.readString(log), log);
        } catch (IOException e) {
            throw new UncheckedIOException("running spark-submit", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * The words of one shell command line (as the README and docs write them: double quotes, {@code $VAR} and
     * {@code "$VAR"} expanded from {@code vars}, backslash-newline continuations already joined).
     */
    public static List<String> words(String line, Map<String, String> vars) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean inQuotes = false;
        boolean any = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '"') {
                inQuotes = !inQuotes;
                any = true;
            } else if (c == '\'' && !inQuotes) {
                int end = line.indexOf('\'', i + 1);
                cur.append(line, i + 1, end);
                i = end;
                any = true;
            } else if (c == '$') {
                Matcher m = Pattern.compile("\\$\\{?([A-Z_][A-Z0-9_]*)}?")
                        .matcher(line)
                        .region(i, line.length());
                if (!m.lookingAt()) throw new IllegalArgumentException("cannot expand at " + line.substring(i));
                String v = vars.get(m.group(1));
                if (v == null) throw new IllegalArgumentException("no value for $" + m.group(1) + " in: " + line);
                cur.append(v);
                i = m.end() - 1;
                any = true;
            } else if (Character.isWhitespace(c) && !inQuotes) {
                if (any) out.add(cur.toString());
                cur.setLength(0);
                any = false;
            } else {
                cur.append(c);
                any = true;
            }
        }
        if (any) out.add(cur.toString());
        return out;
    }

    /** Shell variables for {@link #words}. */
    public static Map<String, String> vars(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return m;
    }
}
