package io.lakelora.jobs.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * docs/spark-submit.md stays true to the build: the jar name and the --packages coordinates carry the root pom's
 * versions, every command runs io.lakelora.jobs.Main with a known subcommand and the JVM flags of bin/jvm.args, every
 * conf/env file it names exists, and the GPU section names the discovery script and Spark's resource settings.
 */
class SparkSubmitDocTest {
    private static String doc;

    @BeforeAll
    static void read() throws Exception {
        doc = Files.readString(ProjectFiles.root().resolve("docs/spark-submit.md"));
    }

    /** The spark-submit commands of the doc's code blocks, continuation lines joined. */
    private static List<String> commands() {
        List<String> out = new ArrayList<>();
        String joined = doc.replace("\\\n", " ");
        for (String line : joined.split("\n")) if (line.startsWith("spark-submit ")) out.add(line);
        return out;
    }

    @Test
    void versionsComeFromThePom() {
        String scala = ProjectFiles.pom("scala.binary.version");
        String delta = "io.delta:delta-spark_" + scala + ":" + ProjectFiles.pom("delta.version");
        String aws = "org.apache.hadoop:hadoop-aws:" + ProjectFiles.pom("hadoop.version");
        assertTrue(doc.contains("--packages " + delta + "," + aws + "\n"), "the open-source Spark --packages line");
        String jar = "jobs/target/lakelora-jobs-" + ProjectFiles.pom("project.version") + "-all.jar";
        Matcher m = Pattern.compile("jobs/target/lakelora-jobs-[^ ]+-all\\.jar").matcher(doc);
        int n = 0;
        while (m.find()) {
            assertEquals(jar, m.group(), "jar name");
            n++;
        }
        assertTrue(n >= 4, "the jar is named in the build section and each example");
        for (String c : commands()) assertTrue(c.contains("--packages " + delta + " "), c);
    }

    @Test
    void commandsRunMainWithAKnownSubcommandAndTheJvmFlags() throws Exception {
        List<String> cmds = commands();
        assertEquals(4, cmds.size(), "local, standalone, YARN and Kubernetes examples");
        Set<String> used = new LinkedHashSet<>();
        for (String c : cmds) {
            Matcher m = Pattern.compile("--class (\\S+) \"\\$JAR\" +(\\S+) ").matcher(c);
            assertTrue(m.find(), "--class MAIN \"$JAR\" SUBCOMMAND in: " + c);
            Class.forName(m.group(1)).getMethod("main", String[].class);
            // the standalone template runs "$JOB" --config "conf/$CONFIG.yaml" for the pairs its comment lists
            List<String> subcommands = new ArrayList<>();
            if (m.group(2).equals("\"$JOB\"")) {
                Matcher pairs = Pattern.compile("([a-z-]+) (0[0-5]_[a-z_]+)")
                        .matcher(doc.substring(
                                doc.indexOf("# JOB / CONFIG"), doc.indexOf("spark-submit --master \"$MASTER\"")));
                while (pairs.find()) {
                    subcommands.add(pairs.group(1));
                    assertTrue(
                            Files.isRegularFile(ProjectFiles.root().resolve("conf/" + pairs.group(2) + ".yaml")),
                            pairs.group(2));
                }
                assertEquals(6, subcommands.size(), "the six jobs in order");
            } else {
                subcommands.add(m.group(2));
            }
            for (String sub : subcommands) {
                assertTrue(
                        ProjectFiles.jobCommandNames().contains(sub),
                        "subcommand " + sub + " is not registered in io.lakelora.jobs.Main.jobCommands()");
                used.add(sub);
            }
            assertTrue(c.contains("\"spark.driver.extraJavaOptions=$JVM_FLAGS\""), c);
            assertTrue(c.contains("--run-id "), c);
        }
        assertTrue(
                doc.contains("JVM_FLAGS=\"$(tr '\\n' ' ' < bin/jvm.args)\""), "JVM_FLAGS is built from bin/jvm.args");
        for (Path conf : ProjectFiles.jobConfs()) {
            String s = ProjectFiles.launchCommand(conf);
            assertTrue(doc.contains("| `" + s + "` |"), "table row " + s + " (job " + conf.getFileName() + ")");
        }
        Matcher env = Pattern.compile("conf/env/[a-z0-9-]+\\.yaml").matcher(doc);
        while (env.find()) {
            String f = env.group();
            if (f.equals("conf/env/local.yaml") || f.equals("conf/env/s3-compatible.yaml")) continue; // the data job's
            assertTrue(Files.isRegularFile(ProjectFiles.root().resolve(f)), f + " exists");
        }
    }

    /**
     * Each job config's "# Cluster:" header runs io.lakelora.jobs.Main with the subcommand of its "# Launch:" line on
     * that config, and its arguments (env=..., model.id=..., adapter=...) load and validate as the job would load them
     * under spark-submit (no default env; --print-config runs nothing).
     */
    @Test
    void confHeadersClusterLinesRunTheirJobWithArgumentsItAccepts() throws Exception {
        for (Path conf : ProjectFiles.jobConfs()) {
            String name = conf.getFileName().toString();
            String header = Files.readString(conf).replace("\\\n#", " ");
            Matcher m = Pattern.compile("(?m)^# Cluster: +spark-submit .*--class io\\.lakelora\\.jobs\\.Main \\S+ +"
                            + "(\\S+) +(--config conf/" + Pattern.quote(name) + "[^\\n]*)$")
                    .matcher(header);
            assertTrue(m.find(), name + ": a '# Cluster:' line running io.lakelora.jobs.Main on conf/" + name);
            assertEquals(ProjectFiles.launchCommand(conf), m.group(1), name + ": the same subcommand as '# Launch:'");
            List<String> args = new ArrayList<>(List.of(m.group(1)));
            for (String w : m.group(2).strip().split(" +")) {
                args.add(w.equals("conf/" + name) ? conf.toString() : w);
            }
            args.add("--print-config");
            java.io.PrintStream old = System.out;
            try {
                System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
                assertEquals(
                        0,
                        io.lakelora.cli.Cli.run(args.toArray(String[]::new), io.lakelora.jobs.Main.jobCommands()),
                        name + ": " + args);
            } finally {
                System.setOut(old);
            }
        }
    }

    @Test
    void gpuSectionNamesTheScriptAndResourceSettings() {
        assertTrue(Files.isExecutable(ProjectFiles.root().resolve("bin/getGpusResources.sh")));
        for (String key : List.of(
                "spark.executor.resource.gpu.amount",
                "spark.task.resource.gpu.amount",
                "spark.executor.resource.gpu.discoveryScript",
                "spark.executor.resource.gpu.vendor")) {
            assertTrue(doc.contains("| `" + key + "` |"), "GPU table row " + key);
        }
        assertTrue(doc.contains("bin/getGpusResources.sh"));
        assertTrue(doc.contains("{\"name\":\"gpu\",\"addresses\":[\"0\",\"1\"]}"));
    }
}
