package io.lakelora.jobs.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.cli.Cli;
import io.lakelora.error.ExitCodes;
import io.lakelora.jobs.Main;
import io.lakelora.jobs.testing.Confs;
import io.lakelora.jobs.testing.TestSpark;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.LoraConfig;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.ModelConfig;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.util.Assets;
import io.lakelora.util.Hashes;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/lakelora registry list|show|alias|diff} through the real command tree ({@link Main#jobCommands}) on a
 * real Delta registry holding two small adapters for stories260K: v1 r=4, alpha=8 on q/v/up/down_proj; v2 r=2,
 * alpha=16, rsLoRA on q/k/v_proj. The diff is checked against dense {@code s B A} products formed in this test.
 */
class RegistryCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static SparkSession spark;
    static Path lake;
    static ModelConfig model;
    static final LoraConfig CFG1 = LoraConfig.of(4, 8, List.of("q_proj", "v_proj", "up_proj", "down_proj"));
    static final LoraConfig CFG2 =
            LoraConfig.of(2, 16, List.of("q_proj", "k_proj", "v_proj")).withRslora(true);
    static float[] p1;
    static float[] p2;

    @BeforeAll
    static void start(@TempDir Path dir) throws Exception {
        spark = TestSpark.start(Map.of());
        lake = dir.resolve("lake");
        model = LlamaLoader.config(Assets.require("models/stories260K-hf"));
        p1 = gaussian(PeftAdapter.layoutFor(model, CFG1).size(), 1, 0.1);
        p2 = gaussian(PeftAdapter.layoutFor(model, CFG2).size(), 2, 0.05);
        AdapterRegistry reg = new AdapterRegistry(spark, AdapterRegistry.rootOf(lake.toString()));
        assertEquals(
                1,
                reg.register(record(dir.resolve("v1"), CFG1, p1, "run-1", 3L, 2.5))
                        .version());
        assertEquals(
                2,
                reg.register(record(dir.resolve("v2"), CFG2, p2, "run-2", 4L, 2.25))
                        .version());
        reg.recordEval("bot", 2, "file:/lake/tables/token_blocks", 4L, 2.0, 640L, "[]");
    }

    @AfterAll
    static void stop() {
        TestSpark.stop(spark);
    }

    static float[] gaussian(int n, long seed, double std) {
        Random r = new Random(seed);
        float[] p = new float[n];
        for (int i = 0; i < n; i++) p[i] = (float) (r.nextGaussian() * std);
        return p;
    }

    static AdapterRecord record(Path dir, LoraConfig cfg, float[] p, String run, long dataVersion, double loss)
            throws Exception {
        PeftAdapter.save(dir, cfg, PeftAdapter.layoutFor(model, cfg), p, "stories260K");
        return new AdapterRecord(
                "bot",
                run,
                "stories260K",
                "sha-of-base",
                "file:/lake/tables/token_blocks",
                dataVersion,
                "{\"lora\":{\"r\":" + cfg.r() + "},\"train\":{\"steps\":10}}",
                cfg.r(),
                cfg.loraAlpha(),
                cfg.targetModules(),
                loss,
                loss + 0.1,
                5120L,
                10L,
                12.5,
                Files.readAllBytes(dir.resolve(PeftAdapter.WEIGHTS_FILE)),
                Files.readString(dir.resolve(PeftAdapter.CONFIG_FILE)),
                "file:/lake/peft/" + run);
    }

    record Out(int code, String stdout, String stderr) {
        JsonNode json() throws Exception {
            return JSON.readTree(stdout);
        }
    }

    static Out cli(String sub, String... args) {
        List<String> all = new ArrayList<>(List.of(
                "registry", sub, "--json", "--config", Confs.conf("base.yaml").toString(), "--lake", lake.toString()));
        all.addAll(List.of(args));
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            code = Cli.run(all.toArray(String[]::new), Main.jobCommands());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new Out(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Dense delta W = s B A (OUT, IN) of one layer and module, in double; null when the adapter does not adapt it. */
    static double[][] dense(LoraConfig cfg, float[] p, int layer, TargetModule m, double s) {
        AdapterLayout layout = PeftAdapter.layoutFor(model, cfg);
        if (!cfg.targets().contains(m)) return null;
        AdapterLayout.Tensor a = layout.find(layer, m, true); // (r, in)
        AdapterLayout.Tensor b = layout.find(layer, m, false); // (out, r)
        int r = a.rows();
        double[][] w = new double[b.rows()][a.cols()];
        for (int o = 0; o < b.rows(); o++) {
            for (int i = 0; i < a.cols(); i++) {
                double acc = 0;
                for (int k = 0; k < r; k++)
                    acc += (double) p[b.offset() + o * r + k] * p[a.offset() + k * a.cols() + i];
                w[o][i] = s * acc;
            }
        }
        return w;
    }

    static double frob(double[][] x, double[][] y) { // ||x - y||_F, a null matrix is zero
        double[][] ref = x != null ? x : y;
        double s = 0;
        for (int o = 0; o < ref.length; o++) {
            for (int i = 0; i < ref[0].length; i++) {
                double d = (x == null ? 0 : x[o][i]) - (y == null ? 0 : y[o][i]);
                s += d * d;
            }
        }
        return Math.sqrt(s);
    }

    @Test
    void diffEqualsDenseProducts() throws Exception {
        Out o = cli("diff", "bot@1", "bot@2", "--top", "3");
        assertEquals(0, o.code(), o.stderr());
        JsonNode d = o.json();
        // s = alpha / r for v1 and alpha / sqrt(r) with rsLoRA for v2 (PEFT's LoraLayer.update_layer)
        double s1 = 8.0 / 4;
        double s2 = 16.0 / Math.sqrt(2);
        assertEquals(s1, d.get("scale_a").asDouble(), 0);
        assertEquals(s2, d.get("scale_b").asDouble(), 1e-15);
        Map<String, double[]> perModule = new HashMap<>();
        double[] total = new double[3];
        TreeSet<String> seen = new TreeSet<>();
        JsonNode layers = d.get("layers");
        for (JsonNode l : layers) seen.add(l.get("module").asText());
        int compared = 0;
        for (int layer = 0; layer < model.numLayers(); layer++) {
            for (TargetModule m : TargetModule.values()) {
                double[][] w1 = dense(CFG1, p1, layer, m, s1);
                double[][] w2 = dense(CFG2, p2, layer, m, s2);
                if (w1 == null && w2 == null) continue;
                String key = m.modulePath(layer);
                assertTrue(seen.contains(key), key + " missing in " + seen);
                JsonNode got = null;
                for (JsonNode l : layers) if (l.get("module").asText().equals(key)) got = l;
                double na = w1 == null ? 0 : frob(w1, null);
                double nb = w2 == null ? 0 : frob(w2, null);
                double nd = frob(w1, w2);
                assertEquals(na, got.get("norm_a").asDouble(), 1e-9 * na + 1e-15, key);
                assertEquals(nb, got.get("norm_b").asDouble(), 1e-9 * nb + 1e-15, key);
                assertEquals(nd, got.get("norm_diff").asDouble(), 1e-9 * nd, key);
                double[] acc = perModule.computeIfAbsent(m.peftName(), k -> new double[3]);
                acc[0] += na * na;
                acc[1] += nb * nb;
                acc[2] += nd * nd;
                total[0] += na * na;
                total[1] += nb * nb;
                total[2] += nd * nd;
                compared++;
            }
        }
        assertEquals(5 * model.numLayers(), compared, "q,k,v,up,down in every layer");
        assertEquals(compared, layers.size());
        for (JsonNode m : d.get("modules")) {
            double[] e = perModule.get(m.get("module").asText());
            assertEquals(Math.sqrt(e[2]), m.get("norm_diff").asDouble(), 1e-9 * Math.sqrt(e[2]));
            assertEquals(Math.sqrt(e[0]), m.get("norm_a").asDouble(), 1e-9 * Math.sqrt(e[0]) + 1e-15);
        }
        assertEquals(5, d.get("modules").size());
        JsonNode t = d.get("total");
        assertEquals(Math.sqrt(total[0]), t.get("norm_a").asDouble(), 1e-9 * Math.sqrt(total[0]));
        assertEquals(Math.sqrt(total[1]), t.get("norm_b").asDouble(), 1e-9 * Math.sqrt(total[1]));
        assertEquals(Math.sqrt(total[2]), t.get("norm_diff").asDouble(), 1e-9 * Math.sqrt(total[2]));
        // changed most: the 3 largest per-layer differences, largest first
        List<Double> diffs = new ArrayList<>();
        for (JsonNode l : layers) diffs.add(l.get("norm_diff").asDouble());
        diffs.sort(java.util.Comparator.reverseOrder());
        JsonNode most = d.get("changed_most");
        assertEquals(3, most.size());
        for (int i = 0; i < 3; i++)
            assertEquals(diffs.get(i), most.get(i).get("norm_diff").asDouble(), 0);
        System.out.println("registry diff bot@1 bot@2: total " + t);
    }

    @Test
    void diffOfAVersionWithItselfIsZeroAndBCanBeAShortRef() throws Exception {
        Out o = cli("diff", "bot@2", "2");
        assertEquals(0, o.code(), o.stderr());
        JsonNode t = o.json().get("total");
        assertEquals(0.0, t.get("norm_diff").asDouble(), 0);
        assertTrue(t.get("norm_a").asDouble() > 0.1, t.toString());
        assertEquals(t.get("norm_a").asDouble(), t.get("norm_b").asDouble(), 0);
        assertEquals("bot@2", o.json().get("b").asText());
    }

    @Test
    void listShowsAdaptersAndVersions() throws Exception {
        Out all = cli("list");
        assertEquals(0, all.code(), all.stderr());
        JsonNode a = all.json().get("adapters");
        assertEquals(1, a.size(), a.toString());
        assertEquals("bot", a.get(0).get("adapter").asText());
        assertEquals(2, a.get(0).get("versions").asInt());
        assertEquals(2, a.get(0).get("latest").asInt());

        Out one = cli("list", "bot");
        assertEquals(0, one.code(), one.stderr());
        JsonNode v = one.json().get("versions");
        assertEquals(2, v.size());
        assertEquals("run-1", v.get(0).get("run_id").asText());
        assertEquals(3L, v.get(0).get("dataset_version").asLong());
        assertEquals(2.25, v.get(1).get("train_loss").asDouble(), 0);

        Out none = cli("list", "nobody");
        assertEquals(ExitCodes.BAD_CONFIG, none.code());
        assertTrue(none.stderr().contains("adapter 'nobody' has no versions"), none.stderr());
    }

    @Test
    void showGivesLineageConfigAndMetrics() throws Exception {
        Out o = cli("show", "bot@2");
        assertEquals(0, o.code(), o.stderr());
        JsonNode s = o.json();
        assertEquals(2, s.get("version").asInt());
        assertEquals("run-2", s.get("run_id").asText());
        assertEquals("sha-of-base", s.get("lineage").get("base_model_sha256").asText());
        assertEquals(
                "file:/lake/tables/token_blocks",
                s.get("lineage").get("dataset_table").asText());
        assertEquals(4L, s.get("lineage").get("dataset_version").asLong());
        assertEquals(2, s.get("config").get("lora").get("r").asInt());
        assertEquals(2.25, s.get("metrics").get("train_loss").asDouble(), 0);
        assertEquals(Math.exp(2.35), s.get("metrics").get("perplexity").asDouble(), 1e-12);
        assertEquals(2, s.get("lora").get("r").asInt());
        assertEquals(1, s.get("evaluations").size());
        assertEquals(2.0, s.get("evaluations").get(0).get("eval_loss").asDouble(), 0);
        byte[] weights = Files.readAllBytes(lakeFile("v2"));
        assertEquals(
                Hashes.sha256Hex(weights),
                s.get("weights").get("adapter_model_sha256").asText());
    }

    static Path lakeFile(String version) {
        return lake.resolveSibling(version).resolve(PeftAdapter.WEIGHTS_FILE);
    }

    @Test
    void aliasIsSetAndReservedNamesAreRejected() throws Exception {
        Out set = cli("alias", "bot", "1", "staging");
        assertEquals(0, set.code(), set.stderr());
        Out moved = cli("alias", "bot", "2", "staging");
        assertEquals(1, moved.json().get("previous_version").asInt());
        Out show = cli("show", "bot@staging");
        assertEquals(2, show.json().get("version").asInt());
        assertTrue(show.json().get("aliases").toString().contains("staging"));

        Out latest = cli("alias", "bot", "1", "latest");
        assertEquals(ExitCodes.BAD_CONFIG, latest.code());
        assertTrue(latest.stderr().contains("alias 'latest' is reserved"), latest.stderr());
        assertTrue(latest.stderr().contains("Fix:"), latest.stderr());
        Out digits = cli("alias", "bot", "1", "7");
        assertEquals(ExitCodes.BAD_CONFIG, digits.code());
        assertTrue(digits.stderr().contains("alias '7' is all digits"), digits.stderr());
        Out missing = cli("alias", "bot", "9", "prod");
        assertEquals(ExitCodes.BAD_CONFIG, missing.code());
        assertTrue(missing.stderr().contains("bot@9 is not in"), missing.stderr());
        Out notNumber = cli("alias", "bot", "two", "prod");
        assertEquals(ExitCodes.BAD_CONFIG, notNumber.code());
        assertTrue(notNumber.stderr().contains("VERSION 'two' is not a version number"), notNumber.stderr());
    }
}
