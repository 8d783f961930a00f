package io.lakelora.jobs.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.lakelora.util.Assets;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The pipeline on a real Spark standalone cluster (a master and two worker JVMs of one core each, executors as
 * separate JVMs), launched by spark-submitting the shaded job jar with the command line of docs/spark-submit.md:
 * jobs 00 -> 05 in client mode, one executor JVM killed with SIGKILL during job 03, whose adapter still equals an
 * undisturbed {@code local[2]} run's bit for bit; one job in cluster deploy mode; each job's bad input failing with its
 * exit code before any executor starts. (The whole pipeline with the lake on s3a:// runs in AirflowRetrainIT.)
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterPipelineIT {
    static final String TRAIN_SETTINGS = "train.steps=12 train.checkpoint_interval=4 train.eval_interval=6 "
            + "train.global_batch_blocks=4 train.micro_batch=2 train.workers=2";
    /** What a user of a 2-core cluster sets: few shuffle and Delta snapshot partitions (Delta's default is 50). */
    static final List<String> SMALL_CLUSTER =
            List.of("spark.shuffle_partitions=2", "spark.conf={spark.databricks.delta.snapshotPartitions: '2'}");

    static StandaloneCluster cluster;
    static Path work;
    static String lake;
    static final AtomicLong SEQ = new AtomicLong();

    @BeforeAll
    static void start() throws IOException {
        work = Files.createTempDirectory("lakelora-it");
        lake = work.resolve("lake").toUri().toString();
        cluster = TestCluster.start(2, 1, "2g");
    }

    @AfterAll
    static void stop() {
        if (cluster != null) cluster.close();
    }

    /** The tested spark-submit line of docs/spark-submit.md, section 5 (continuations joined). */
    static String docTemplate() throws IOException {
        return docLine(l -> l.startsWith("spark-submit ") && l.contains("\"$JOB\""), "standalone line with \"$JOB\"");
    }

    /** The first line of docs/spark-submit.md (backslash continuations joined) that {@code which} accepts. */
    static String docLine(java.util.function.Predicate<String> which, String what) throws IOException {
        String doc = Files.readString(TestCluster.root().resolve("docs/spark-submit.md"))
                .replace("\\\n", " ");
        for (String line : doc.split("\n")) {
            if (which.test(line)) return line;
        }
        throw new IllegalStateException("docs/spark-submit.md has no spark-submit " + what);
    }

    /** Adds the pids that {@code log} says loaded the base (one count per load) to {@code loads}. */
    static void countBaseLoads(String log, Map<String, Integer> loads) {
        Matcher m = Pattern.compile("\\[lakelora] loaded base .* in pid (\\d+)").matcher(log);
        while (m.find()) loads.merge(m.group(1), 1, Integer::sum);
    }

    /**
     * The doc's command for one job with the test's values; {@code --packages} becomes {@code --jars} with the same
     * Delta jars (no network here); {@code extra} words go at the end (job settings) and {@code conf} before the
     * class (spark-submit options).
     */
    static List<String> command(
            String master, String job, String config, String lakeRoot, String run, List<String> conf, String... extra)
            throws IOException {
        Map<String, String> vars = SparkSubmit.vars(
                "MASTER",
                master,
                "JOB",
                job,
                "CONFIG",
                config,
                "LAKE",
                lakeRoot,
                "RUN",
                run,
                "JAR",
                required("lakelora.jobjar"),
                "JVM_FLAGS",
                String.join(" ", TestCluster.jvmFlags()));
        List<String> words =
                new ArrayList<>(SparkSubmit.words(docTemplate().substring("spark-submit ".length()), vars));
        int p = words.indexOf("--packages");
        words.set(p, "--jars");
        words.set(p + 1, String.join(",", TestCluster.deltaJars()));
        words.addAll(words.indexOf("--class"), conf);
        words.addAll(SMALL_CLUSTER);
        words.addAll(List.of(extra));
        return words;
    }

    static String required(String p) {
        return TestCluster.required(p);
    }

    static SparkSubmit.Result submit(List<String> args, Map<String, String> env, String name) {
        Path log = work.resolve(SEQ.incrementAndGet() + "-" + name + ".log");
        SparkSubmit.Result r = SparkSubmit.run(cluster, args, env, log, 420);
        System.err.println("[it] " + name + ": exit " + r.exitCode() + " (" + log + ")");
        return r;
    }

    static final String[] JOBS = {
        "quantize-base",
        "00_quantize_base",
        "prepare",
        "01_prepare_corpus",
        "tokenize-pack",
        "02_tokenize_pack",
        "train",
        "03_train",
        "export",
        "04_export",
        "evaluate",
        "05_evaluate"
    };

    /** Small inputs for the cluster runs: the self-instruct tasks and the TinyStories sample. */
    static List<String> jobSettings(String job) {
        String assets = Assets.root().toString();
        return switch (job) {
            case "quantize-base" -> List.of("model.path=" + assets + "/models/stories260K-hf");
            case "prepare" ->
                List.of(
                        "mode=full",
                        "inputs=[{name: self_instruct, path: " + assets
                                + "/corpora/self_instruct_seed_tasks.jsonl, format: jsonl, shape: alpaca, columns: {instruction: "
                                + "instruction, input: 'instances[0].input', output: 'instances[0].output'}}, {name: tinystories, "
                                + "path: " + assets
                                + "/corpora/tinystories_sample.txt, format: text, text_split: separator, "
                                + "separator: '<|endoftext|>'}]");
            case "tokenize-pack" -> List.of("mode=full", "pack.block_size=128");
            case "train" -> List.of((TRAIN_SETTINGS + " train.adapter_name=cluster").split(" "));
            case "export" -> List.of("adapter=cluster@latest");
            case "evaluate" -> List.of("adapter=cluster@latest", "samples.max_new_tokens=8");
            default -> throw new IllegalArgumentException(job);
        };
    }

    static byte[] adapterBytes(String lakeDir, String name) throws IOException {
        Path root = Path.of(java.net.URI.create(lakeDir)).resolve("runs").resolve(name);
        try (var s = Files.walk(root)) {
            List<Path> files = s.filter(f -> f.toString().endsWith("peft/adapter_model.safetensors"))
                    .toList();
            assertEquals(1, files.size(), "one PEFT adapter under " + root + ": " + files);
            return Files.readAllBytes(files.get(0));
        }
    }

    /** Executor JVM pids of {@code appId} that logged loading the base, and how often each did. */
    static Map<String, Integer> baseLoadsPerExecutor(String appId) throws IOException {
        Map<String, Integer> loads = new java.util.TreeMap<>();
        for (Path d : cluster.executorDirs(appId)) {
            countBaseLoads(Files.readString(d.resolve("stderr")), loads);
        }
        return loads;
    }

    @Test
    @Order(1)
    void theChainRunsAsClusterApplicationsInClientMode() throws IOException {
        Set<String> apps = new HashSet<>();
        for (int i = 0; i < JOBS.length; i += 2) {
            String job = JOBS[i];
            List<String> args = command(
                    cluster.masterUrl(),
                    job,
                    JOBS[i + 1],
                    lake,
                    "it-1",
                    List.of(),
                    jobSettings(job).toArray(String[]::new));
            Path log = work.resolve(SEQ.incrementAndGet() + "-" + job + ".log");
            // job 03: one executor JVM is killed with SIGKILL after step 3; Spark replaces it and retries its task
            Killer killer = job.equals("train") ? Killer.start(log, "[lakelora] step 3/") : null;
            SparkSubmit.Result r = SparkSubmit.run(cluster, args, Map.of(), log, 600);
            System.err.println("[it] " + job + ": exit " + r.exitCode() + " (" + log + ")");
            assertEquals(0, r.exitCode(), r.describe());
            String app = r.appId();
            assertNotNull(app, job + " connected to the standalone master as an application: " + r.describe());
            assertTrue(apps.add(app), "a new application per job");
            List<Path> executors = cluster.executorDirs(app);
            if (killer == null) {
                assertEquals(2, executors.size(), job + ": one executor JVM per worker: " + executors);
                continue;
            }
            long killed = killer.stop();
            assertTrue(killed > 0, "an executor JVM was killed during training: " + r.describe());
            assertTrue(r.output().contains("Lost executor"), "the driver saw it go: " + r.describe());
            assertTrue(executors.size() >= 3, "the master launched a replacement executor: " + executors);
            Map<String, Integer> loads = baseLoadsPerExecutor(app);
            assertTrue(
                    loads.size() >= 2 && loads.containsKey(Long.toString(killed)),
                    "executors computed gradients, the killed one among them: " + loads + ", killed " + killed);
            loads.forEach((pid, n) -> assertEquals(1, n, "executor pid " + pid + " loaded the base once"));
            assertTrue(!loads.containsKey(Long.toString(pidOfDriver(r.output()))), "executors are not the driver");
        }
        JsonNode status = cluster.status();
        assertTrue(status.path("completedapps").size() >= 6, status.toString());
        for (JsonNode a : status.path("completedapps")) {
            if (apps.contains(a.path("id").asText()))
                assertEquals("FINISHED", a.path("state").asText(), a.toString());
        }
        Path export = Path.of(java.net.URI.create(lake)).resolve("exports/cluster/v1");
        assertArrayEquals(
                Files.readAllBytes(export.resolve("adapter_model.safetensors")),
                adapterBytes(lake, "cluster"),
                "job 04 exported the registered version 1");
        assertTrue(Files.isDirectory(Path.of(java.net.URI.create(lake)).resolve("tables/base_models/_delta_log")));
    }

    static long pidOfDriver(String output) {
        Matcher m = Pattern.compile("\\[lakelora] driver pid (\\d+)").matcher(output);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    @Test
    @Order(2)
    void theKilledClusterRunEqualsAnUndisturbedLocalRunBitForBit() throws IOException {
        // the same job 03 settings on Spark local[2] in this JVM, on the same lake and data version, another adapter
        // name; two workers' gradient sums meet in one addition on the driver (a + b == b + a in IEEE) and every
        // worker sums its own blocks in a fixed order, so the bytes are equal, not just close
        List<String> overrides = new ArrayList<>(List.of("lake.root=" + lake));
        overrides.addAll(List.of((TRAIN_SETTINGS + " train.adapter_name=local").split(" ")));
        overrides.addAll(SMALL_CLUSTER);
        io.lakelora.jobs.train.TrainJobConfig cfg = io.lakelora.jobs.common.JobConfigs.load(
                List.of(TestCluster.root().resolve("conf/03_train.yaml").toString()),
                overrides,
                io.lakelora.jobs.train.TrainJobConfig.class,
                "local");
        org.apache.spark.sql.SparkSession spark = io.lakelora.jobs.testing.TestSpark.start(Map.of());
        try {
            io.lakelora.jobs.train.TrainJob.run(spark, cfg, "it-local");
        } finally {
            io.lakelora.jobs.testing.TestSpark.stop(spark);
        }
        assertArrayEquals(
                adapterBytes(lake, "local"),
                adapterBytes(lake, "cluster"),
                "the cluster's adapter (one executor killed mid-run) equals the undisturbed local[2] run's");
    }

    @Test
    @Order(3)
    void clusterDeployModeRunsTheDriverOnAWorkerAndFinishes() throws IOException {
        String conf = TestCluster.root().resolve("conf").toUri().toString(); // file:/.../conf/
        List<String> args = command(
                cluster.masterUrl(),
                "export",
                "04_export",
                lake,
                "it-1",
                List.of("--conf", "spark.standalone.submit.waitAppCompletion=true"),
                "adapter=cluster@1",
                "out=" + lake + "/exports-cluster-mode");
        args.set(args.indexOf("client"), "cluster");
        int c = args.indexOf("--config");
        args.set(c + 1, conf + "04_export.yaml");
        SparkSubmit.Result r = submit(args, Map.of(), "export-cluster-mode");
        assertEquals(0, r.exitCode(), r.describe());
        JsonNode drivers = cluster.status().path("completeddrivers");
        assertEquals(1, drivers.size(), drivers.toString());
        assertEquals("FINISHED", drivers.get(0).path("state").asText(), drivers.toString());
        Path out = Path.of(java.net.URI.create(lake + "/exports-cluster-mode"));
        assertArrayEquals(adapterBytes(lake, "cluster"), Files.readAllBytes(out.resolve("adapter_model.safetensors")));
    }

    /** The tested YARN line of docs/spark-submit.md, section 6 (continuations joined). */
    static String docYarnLine() throws IOException {
        return docLine(l -> l.startsWith("spark-submit --master yarn --deploy-mode cluster"), "--master yarn line");
    }

    /** The doc's conf archive step, {@code (cd conf && zip -qr ../target/conf.zip .)}, done with java.util.zip. */
    static Path confZip() throws IOException {
        Path zip = work.resolve("conf.zip");
        Path conf = TestCluster.root().resolve("conf");
        try (var out = new java.util.zip.ZipOutputStream(Files.newOutputStream(zip));
                var files = Files.walk(conf)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                out.putNextEntry(new java.util.zip.ZipEntry(conf.relativize(f).toString()));
                Files.copy(f, out);
                out.closeEntry();
            }
        }
        return zip;
    }

    /**
     * The doc's YARN command with this machine's sizes (queue {@code default}, two 1-core executors of 1g, a 1g
     * driver), Delta from {@code --jars} instead of {@code --packages} (no network here), the Spark jars from the
     * test SPARK_HOME ({@code spark.yarn.jars=local:...}, as a cluster that has Spark installed on every node sets
     * it), the test lake, and {@code extra} job settings at the end.
     */
    static List<String> yarnCommand(Path yarnDir, String... extra) throws IOException {
        Map<String, String> vars = SparkSubmit.vars(
                "JAR", required("lakelora.jobjar"), "JVM_FLAGS", String.join(" ", TestCluster.jvmFlags()));
        String line = docYarnLine();
        List<String> words = new ArrayList<>(SparkSubmit.words(line.substring("spark-submit ".length()), vars));
        Map<String, String> sizes = Map.of(
                "--queue",
                "default",
                "--num-executors",
                "2",
                "--executor-cores",
                "1",
                "--executor-memory",
                "1g",
                "--driver-memory",
                "1g",
                "--archives",
                confZip() + "#conf");
        sizes.forEach((k, v) -> {
            int i = words.indexOf(k);
            assertTrue(i >= 0, "the doc's YARN line has " + k + ": " + line);
            words.set(i + 1, v);
        });
        int p = words.indexOf("--packages");
        words.set(p, "--jars");
        words.set(p + 1, String.join(",", TestCluster.deltaJars()));
        words.addAll(
                words.indexOf("--class"),
                List.of(
                        "--conf",
                        "spark.yarn.jars=local:" + cluster.home().resolve("jars") + "/*",
                        "--conf",
                        "spark.yarn.stagingDir=" + yarnDir.resolve("staging").toUri()));
        int l = words.indexOf("lake.root=hdfs:///user/lakelora/lake");
        assertTrue(l > 0, "the doc's YARN line sets lake.root=hdfs:///user/lakelora/lake: " + line);
        words.set(l, "lake.root=" + lake);
        words.addAll(SMALL_CLUSTER);
        words.addAll(List.of(extra));
        return words;
    }

    @Test
    @Order(4)
    void yarnClusterModeTrainsTheSameAdapterAndSucceeds() throws IOException {
        Path yarnDir = work.resolve("yarn");
        try (TestYarn yarn = TestYarn.start(yarnDir, 6144, 4)) {
            List<String> args = yarnCommand(yarnDir, (TRAIN_SETTINGS + " train.adapter_name=yarn").split(" "));
            Path log = work.resolve(SEQ.incrementAndGet() + "-train-yarn.log");
            SparkSubmit.Result r =
                    SparkSubmit.run(cluster.home(), cluster.env(), yarn.confDir(), args, Map.of(), log, 420);
            System.err.println("[it] train on YARN: exit " + r.exitCode() + " (" + log + ")");
            String app = r.yarnAppId();
            assertNotNull(app, "submitted to the ResourceManager: " + r.describe());
            String containers = yarn.containerOutput(app);
            assertEquals(0, r.exitCode(), r.describe() + "\n" + tail(containers));
            // the ApplicationMaster reports SUCCEEDED only if the driver's main returned without System.exit
            assertTrue(r.output().contains("final status: SUCCEEDED"), r.describe());
            Matcher driver = Pattern.compile("\\[lakelora] driver pid (\\d+), master yarn")
                    .matcher(containers);
            assertTrue(
                    driver.find(),
                    "the driver ran inside the cluster (the ApplicationMaster's container): " + tail(containers));
            // base loads in the executor containers (the driver's container loads it too, for evaluation)
            Map<String, Integer> loads = new java.util.TreeMap<>();
            Map<String, String> byContainer = new java.util.TreeMap<>();
            for (String chunk : containers.split("(?m)^==> ")) {
                if (!chunk.isBlank()) byContainer.merge(chunk.substring(0, chunk.indexOf('/')), chunk, String::concat);
            }
            for (String c : byContainer.values()) {
                if (!c.contains("[lakelora] driver pid")) countBaseLoads(c, loads);
            }
            assertEquals(2, loads.size(), "two executor containers computed gradients: " + loads);
            loads.forEach((pid, n) -> assertEquals(1, n, "executor pid " + pid + " loaded the base once"));
            assertTrue(!loads.containsKey(driver.group(1)), "executors are not the driver");
            assertArrayEquals(
                    adapterBytes(lake, "cluster"),
                    adapterBytes(lake, "yarn"),
                    "YARN's adapter equals the standalone cluster's (same settings, data version and seed)");

            // a failing job: non-zero exit at the client, FAILED at YARN, the one error line in the driver's log
            Path badLog = work.resolve(SEQ.incrementAndGet() + "-train-yarn-bad.log");
            SparkSubmit.Result bad = SparkSubmit.run(
                    cluster.home(),
                    cluster.env(),
                    yarn.confDir(),
                    yarnCommand(yarnDir, "model.id=stories-typo", "train.adapter_name=yarn-bad"),
                    Map.of(),
                    badLog,
                    240);
            System.err.println("[it] bad train on YARN: exit " + bad.exitCode() + " (" + badLog + ")");
            assertTrue(bad.exitCode() != 0, bad.describe());
            assertTrue(bad.output().contains("final status: FAILED"), bad.describe());
            String badContainers = yarn.containerOutput(bad.yarnAppId());
            List<String> errors =
                    badContainers.lines().filter(l -> l.startsWith("error: ")).toList();
            assertEquals(1, errors.size(), "one error line from the driver: " + tail(badContainers));
            assertTrue(errors.get(0).contains("model.id") && errors.get(0).contains("Fix:"), errors.get(0));
            // the driver threw instead of exiting: YARN's diagnostics carry the exit code and the error line
            String reason =
                    "LakeLoRA job failed with exit code 2: " + errors.get(0).substring("error: ".length());
            assertTrue(
                    bad.output().contains("User class threw exception")
                            && bad.output().contains(reason),
                    "YARN reports why: " + bad.describe());
        }
    }

    static String tail(String s) {
        return s.length() > 8000 ? s.substring(s.length() - 8000) : s;
    }

    /**
     * A failed submission: the exit code and its one {@code error:} line. The application asks for executors larger
     * than a worker (4g > 2g), so the master registers it but never launches one: the job must fail on the driver,
     * before any Spark work.
     */
    static String failsWith(int code, String name, String job, String config, String lakeRoot, String... extra)
            throws IOException {
        return failsWith(false, code, name, job, config, lakeRoot, extra);
    }

    /** {@link #failsWith}; {@code executors}: the application may get executors (Delta reads its log with Spark). */
    static String failsWith(
            boolean executors, int code, String name, String job, String config, String lakeRoot, String... extra)
            throws IOException {
        List<String> args = command(cluster.masterUrl(), job, config, lakeRoot, "it-bad", List.of(), extra);
        if (!executors) args.set(args.indexOf("--executor-memory") + 1, "4g");
        Path log = work.resolve(SEQ.incrementAndGet() + "-" + name + ".log");
        SparkSubmit.Result r = SparkSubmit.run(cluster, args, Map.of(), log, 240);
        System.err.println("[it] " + name + ": exit " + r.exitCode() + " (" + log + ")");
        assertEquals(code, r.exitCode(), r.describe());
        List<String> errors =
                r.output().lines().filter(l -> l.startsWith("error: ")).toList();
        assertEquals(1, errors.size(), "one error line: " + r.describe());
        assertTrue(errors.get(0).contains("Fix:"), errors.get(0));
        return errors.get(0);
    }

    @Test
    @Order(6)
    void badInputFailsEachJobWithItsExitCodeAndOneLine() throws IOException {
        String empty = work.resolve("empty-lake").toUri().toString();
        // 2: a missing or mistyped model
        assertTrue(failsWith(
                        2,
                        "bad-00",
                        "quantize-base",
                        "00_quantize_base",
                        empty,
                        "model.path=" + work.resolve("no-such-model"))
                .contains("model.path"));
        assertTrue(failsWith(2, "bad-02", "tokenize-pack", "02_tokenize_pack", lake, "model.id=stories-typo")
                .contains("model.id"));
        // 2: a missing input or table
        assertTrue(failsWith(
                        2,
                        "bad-01",
                        "prepare",
                        "01_prepare_corpus",
                        empty,
                        "inputs=[{name: x, path: " + work.resolve("no-such-corpus.jsonl") + ", format: jsonl}]")
                .contains("no-such-corpus"));
        assertTrue(failsWith(2, "bad-03", "train", "03_train", empty).contains("token_blocks"));
        failsWith(2, "bad-04", "export", "04_export", empty, "adapter=cluster@1");
        failsWith(2, "bad-05", "evaluate", "05_evaluate", empty, "adapter=cluster@1");
        // 3: a corrupt _delta_log
        Path corrupt = work.resolve("corrupt-lake");
        copyTree(
                Path.of(java.net.URI.create(lake)).resolve("tables/token_blocks"),
                corrupt.resolve("tables/token_blocks"));
        try (var logs = Files.list(corrupt.resolve("tables/token_blocks/_delta_log"))) {
            for (Path f : logs.toList()) { // garbage where the commits were, as a tool writing without Hadoop leaves it
                if (f.getFileName().toString().endsWith(".crc")) Files.delete(f);
                else if (f.toString().endsWith(".json")) Files.writeString(f, "{\"commitInfo\": not json at all\n");
            }
        }
        assertTrue(failsWith(
                        true,
                        3,
                        "bad-delta-log",
                        "train",
                        "03_train",
                        corrupt.toUri().toString(),
                        "model.path=" + Path.of(java.net.URI.create(lake)).resolve("models/stories260K-nf4"))
                .contains("_delta_log"));
        // 4: an unreachable object store
        assertTrue(failsWith(
                        4,
                        "bad-s3",
                        "prepare",
                        "01_prepare_corpus",
                        "s3a://lake/x",
                        "env=s3-compatible",
                        "s3a.endpoint=http://127.0.0.1:9",
                        "spark.conf={spark.hadoop.fs.s3a.retry.limit: '1', "
                                + "spark.hadoop.fs.s3a.attempts.maximum: '1', spark.databricks.delta.snapshotPartitions: '2'}")
                .contains("cannot be reached"));
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (var s = Files.walk(from)) {
            for (Path f : s.toList()) {
                Path t = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) Files.createDirectories(t);
                else Files.copy(f, t);
            }
        }
    }

    /** Kills one executor JVM of the cluster with SIGKILL once {@code log} contains {@code marker}. */
    static final class Killer {
        final AtomicLong killed = new AtomicLong(-1);
        final Thread thread;
        volatile boolean done;

        private Killer(Path log, String marker) {
            thread = new Thread(
                    () -> {
                        while (!done && killed.get() < 0) {
                            StandaloneCluster.sleep(200);
                            try {
                                if (!Files.exists(log) || !Files.readString(log).contains(marker)) continue;
                            } catch (IOException e) {
                                continue;
                            }
                            ProcessHandle.allProcesses()
                                    .filter(h -> h.info()
                                            .commandLine()
                                            .map(cl -> cl.contains("CoarseGrainedExecutorBackend")
                                                    && cl.contains(
                                                            cluster.home().toString()))
                                            .orElse(false))
                                    .findFirst()
                                    .ifPresent(h -> {
                                        killed.set(h.pid());
                                        h.destroyForcibly(); // SIGKILL
                                    });
                        }
                    },
                    "executor-killer");
            thread.setDaemon(true);
        }

        static Killer start(Path log, String marker) {
            Killer k = new Killer(log, marker);
            k.thread.start();
            return k;
        }

        long stop() {
            done = true;
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return killed.get();
        }
    }
}
