import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * Checks the shaded job jar (run by exec-maven-plugin in the jobs module's verify phase, after package):
 * <ol>
 *   <li>the manifest's Main-Class is io.lakelora.jobs.Main and there are no signature files;</li>
 *   <li>nothing the cluster provides is inside (Spark, Delta, Scala, Hadoop common, Jackson core/databind, Netty,
 *       SLF4J, log4j) and Guava only in its relocated form;</li>
 *   <li>what the cluster lacks is inside: the engine, DJL tokenizers and their native libraries, JNA, jinjava, Jackson
 *       YAML + SnakeYAML, picocli, s3a and the AWS SDK S3 client;</li>
 *   <li>every class named in a META-INF/services file is in the jar (merged and relocated consistently);</li>
 *   <li>the jar runs on only what a cluster provides (the provided-scope classpath plus Jackson): the CLI's help, and
 *       ShadedJarSmoke encoding with a real tokenizer through the native library extracted from the jar.</li>
 * </ol>
 * For the Databricks build ({@code -Pdbr}, PLATFORM dbr) the runtime's own s3a (hadoop-aws), AWS SDK, Jackson YAML and
 * SnakeYAML move from "inside" to "must not be inside"; the run in step 5 gets them from the classpath, as on Databricks.
 * Usage: java CheckShadedJar.java JAR CLASSPATH_DIR JVM_ARGS_FILE TOKENIZER_JSON SMOKE_JAVA [PLATFORM] (SMOKE_JAVA: the
 * path of ShadedJarSmoke.java; PLATFORM: default or dbr). Exit 0 when all pass, 1 with a list of problems otherwise.
 */
public class CheckShadedJar {
    static final List<String> FORBIDDEN_PREFIXES = List.of(
            "org/apache/spark/", "io/delta/", "scala/", "org/apache/hadoop/conf/", "org/apache/hadoop/fs/FileSystem.class",
            "com/fasterxml/jackson/core/", "com/fasterxml/jackson/databind/", "io/netty/", "org/slf4j/",
            "org/apache/log4j/", "org/apache/logging/log4j/", "com/google/common/", "com/google/thirdparty/",
            "com/google/gson/", "org/apache/commons/codec/", "org/apache/commons/compress/", "org/apache/commons/lang3/",
            "org/apache/commons/logging/", "javassist/");

    static final List<String> REQUIRED = List.of(
            "io/lakelora/jobs/Main.class", "io/lakelora/cli/Cli.class", "io/lakelora/config/ConfigLoader.class",
            "io/lakelora/tokenizer/Tokenizer.class", "io/lakelora/report/RunReport.class",
            "ai/djl/huggingface/tokenizers/HuggingFaceTokenizer.class", "native/lib/tokenizers.properties",
            "native/lib/linux-x86_64/cpu/libtokenizers.so", "native/lib/linux-aarch64/cpu/libtokenizers.so",
            "com/sun/jna/Native.class", "com/hubspot/jinjava/Jinjava.class",
            "picocli/CommandLine.class", "io/lakelora/shaded/com/google/common/collect/ImmutableList.class");

    /** Inside the default jar; provided by Databricks Runtime, so forbidden in the dbr jar (their package prefixes). */
    static final List<String> PLATFORM_PROVIDED_ON_DBR = List.of(
            "com/fasterxml/jackson/dataformat/yaml/YAMLFactory.class", "org/yaml/snakeyaml/Yaml.class",
            "org/apache/hadoop/fs/s3a/S3AFileSystem.class", "software/amazon/awssdk/services/s3/S3Client.class",
            "software/amazon/awssdk/transfer/s3/S3TransferManager.class");
    static final List<String> FORBIDDEN_ON_DBR = List.of(
            "com/fasterxml/jackson/dataformat/", "org/yaml/snakeyaml/", "org/apache/hadoop/", "software/amazon/awssdk/");

    public static void main(String[] args) throws Exception {
        if (args.length != 5 && args.length != 6 || args.length == 6 && !List.of("default", "dbr").contains(args[5])) {
            System.err.println("usage: java CheckShadedJar.java JAR CLASSPATH_DIR JVM_ARGS_FILE TOKENIZER_JSON SMOKE_JAVA"
                    + " [default|dbr]");
            System.exit(2);
        }
        boolean dbr = args.length == 6 && args[5].equals("dbr");
        List<String> forbidden = new ArrayList<>(FORBIDDEN_PREFIXES);
        List<String> required = new ArrayList<>(REQUIRED);
        if (dbr) forbidden.addAll(FORBIDDEN_ON_DBR);
        else required.addAll(PLATFORM_PROVIDED_ON_DBR);
        Path jar = Path.of(args[0]);
        Path cpDir = Path.of(args[1]);
        Path jvmArgs = Path.of(args[2]);
        Path tokenizer = Path.of(args[3]);
        Path smokeSrc = Path.of(args[4]);
        List<String> problems = new ArrayList<>();
        if (!Files.isRegularFile(jar)) {
            fail(List.of(jar + " not found. Fix: build it with 'mvn -pl jobs -am package' (shade runs in package)"));
        }
        Set<String> entries = new TreeSet<>();
        try (JarFile jf = new JarFile(jar.toFile())) {
            String main = jf.getManifest() == null ? null : jf.getManifest().getMainAttributes().getValue("Main-Class");
            if (!"io.lakelora.jobs.Main".equals(main)) problems.add("manifest Main-Class is " + main + ", expected io.lakelora.jobs.Main");
            for (Enumeration<JarEntry> e = jf.entries(); e.hasMoreElements(); ) entries.add(e.nextElement().getName());
            for (String name : entries) {
                if (name.matches("META-INF/[^/]+\\.(SF|DSA|RSA|EC)")) problems.add("signature file inside: " + name);
            }
            for (String f : forbidden) {
                List<String> hits = entries.stream().filter(n -> n.startsWith(f) && !n.endsWith("/")).toList();
                if (!hits.isEmpty()) {
                    problems.add(hits.size() + " entries under " + f + " (provided by the cluster, must not be inside),"
                            + " e.g. " + hits.subList(0, Math.min(3, hits.size())));
                }
            }
            for (String r : required) if (!entries.contains(r)) problems.add("missing from the jar: " + r);
            for (String name : entries) {
                if (!name.startsWith("META-INF/services/") || name.endsWith("/")) continue;
                for (String line : read(jf, name).split("\n")) {
                    String cls = line.replaceAll("#.*", "").trim();
                    if (cls.isEmpty()) continue;
                    if (!entries.contains(cls.replace('.', '/') + ".class")) {
                        problems.add(name + " names " + cls + ", which is not in the jar");
                    }
                }
            }
        }
        // stop here on content problems: running a broken jar only adds noise
        if (!problems.isEmpty()) fail(problems);
        System.out.printf("[check-jar] %s (%s): %d entries, %.1f MB; contents OK%n", jar.getFileName(),
                dbr ? "Databricks Runtime" : "default", entries.size(), Files.size(jar) / 1e6);

        String cp = jar + java.io.File.pathSeparator + readClasspath(cpDir.resolve("provided.classpath"))
                + java.io.File.pathSeparator + readClasspath(cpDir.resolve("cluster.classpath"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();

        // 1. the CLI's entry point on the cluster classpath
        Result help = run(List.of(java, "@" + jvmArgs, "-Xmx512m", "-cp", cp, "io.lakelora.jobs.Main", "--help"));
        if (help.code != 0 || !help.out.contains("Usage: lakelora")) {
            problems.add("'java -cp JAR:PROVIDED io.lakelora.jobs.Main --help' exited " + help.code + ":\n" + help.out);
        }
        // 2. a real tokenizer through DJL's native library extracted from the jar into a fresh cache, offline
        Path cache = Files.createTempDirectory("lakelora-djl-cache");
        Result tok = run(List.of(java, "@" + jvmArgs, "-Xmx512m", "-DDJL_CACHE_DIR=" + cache,
                "-DENGINE_CACHE_DIR=" + cache, "-Dai.djl.offline=true", "-cp", cp,
                smokeSrc.toString(), tokenizer.toString()));
        if (tok.code != 0 || !tok.out.contains("ids=[403, 407, 261, 378]")) {
            problems.add("tokenizer smoke run exited " + tok.code + ", expected ids=[403, 407, 261, 378]:\n" + tok.out);
        }
        // the native library came out of the jar into the fresh cache (not from an earlier run's cache)
        try (var files = Files.walk(cache)) {
            List<Path> libs = files.filter(f -> f.getFileName().toString().startsWith("libtokenizers")).toList();
            if (libs.isEmpty()) problems.add("DJL did not extract libtokenizers into the fresh cache " + cache);
        }
        try (var files = Files.walk(cache)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
        if (!problems.isEmpty()) fail(problems);
        String ids = tok.out.lines().filter(l -> l.startsWith("ids=")).findFirst().orElse("");
        System.out.println("[check-jar] runs on the provided classpath: CLI help OK; DJL native tokenizer from the jar: " + ids);
    }

    record Result(int code, String out) {}

    static Result run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(-1, out + "\n(timed out after 120 s)");
        }
        return new Result(p.exitValue(), out);
    }

    static String readClasspath(Path f) throws IOException {
        if (!Files.isRegularFile(f)) throw new IllegalStateException(f + " not found (written by maven-dependency-plugin)");
        return Files.readString(f).strip();
    }

    static String read(JarFile jf, String name) throws IOException {
        try (InputStream in = jf.getInputStream(jf.getEntry(name))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static void fail(List<String> problems) {
        System.err.println("[check-jar] FAILED, " + problems.size() + " problem(s):");
        for (String p : problems) System.err.println("  - " + p);
        System.exit(1);
    }
}
