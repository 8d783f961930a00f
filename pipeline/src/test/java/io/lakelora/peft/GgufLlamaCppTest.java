package io.lakelora.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.cli.Cli;
import io.lakelora.error.ExitCodes;
import io.lakelora.util.Assets;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our GGUF files in the real client: llama.cpp as npm's node-llama-cpp 3.22.1 ships it (prebuilt CPU binaries; install
 * with {@code bin/install-node-llama-cpp}). stories260K gets an adapter trained by {@code train-local}; then
 * {@code export-gguf} writes the base, the adapter and the merged model, and llama.cpp's greedy tokens (64 from BOS,
 * {@code src/test/node/llama-greedy.mjs}) must equal {@code generate --quant none --adapter}'s, through base + adapter
 * and through the merged F32 and F16 files. Q8_0 rounds weights and activations to 8 bits, so greedy paths may part at
 * a near-tie: there llama.cpp is fed our tokens (teacher forcing) and must pick the same next token at every position
 * but where its own logits put ours within {@link #Q8_0_MAX_GAP} of its top. The base alone must give the golden
 * greedy ids and llama.cpp's tokenizer the golden tok512 encodings (stories260K-expected.json, from reference
 * implementations).
 */
class GgufLlamaCppTest {
    static final Path MODEL = Assets.require("models/stories260K-hf");
    static final Path DATA = Assets.require("corpora/tinystories_sample.txt");
    static final Path SCRIPT = Path.of("src/test/node/llama-greedy.mjs");
    static final ObjectMapper JSON = new ObjectMapper();
    static final int N = 64;
    /**
     * Largest logit gap allowed, under Q8_0 teacher forcing, between llama.cpp's top token and our fp32 greedy token
     * where the two differ (at most {@link #Q8_0_MAX_DIFFERENT} positions). Measured here (node-llama-cpp 3.22.1 on
     * an AMD EPYC): one position of 64 differs, by 0.046 logits; F32 and F16 agree at all 64.
     */
    static final double Q8_0_MAX_GAP = 0.25;

    static final int Q8_0_MAX_DIFFERENT = 3;

    @Test
    void llamaCppGeneratesWhatWeGenerate(@TempDir Path tmp) throws Exception {
        Path lib = nodeLlamaCpp();
        Path adapter = tmp.resolve("adapter");
        run(
                "train-local",
                "--model",
                MODEL.toString(),
                "--data",
                DATA.toString(),
                "--config",
                Path.of("../conf/train_local.yaml").toString(),
                "--out",
                adapter.toString(),
                "lora.r=8",
                "lora.lora_alpha=16",
                "optimizer.lr=5e-3",
                "steps=20",
                "quant=none",
                "block_size=64",
                "micro_batch=2",
                "grad_accum=1",
                "eval_interval=20",
                "checkpoint_interval=20");
        Path out = tmp.resolve("gguf");
        JsonNode written = JSON.readTree(run(
                "export-gguf",
                "--model",
                MODEL.toString(),
                "--adapter",
                adapter.toString(),
                "--out",
                out.toString(),
                "--write",
                "base,adapter,merged",
                "--type",
                "f32,f16,q8_0",
                "--json"));
        assertEquals(7, written.get("files").size(), written.toString());

        List<Integer> base = ids(
                run("generate", "--model", MODEL.toString(), "--quant", "none", "--max-new-tokens", "" + N, "--json"));
        List<Integer> ours = ids(run(
                "generate",
                "--model",
                MODEL.toString(),
                "--quant",
                "none",
                "--adapter",
                adapter.toString(),
                "--max-new-tokens",
                "" + N,
                "--json"));
        assertNotEquals(base, ours, "the trained adapter must change the greedy output, or this test proves nothing");

        JsonNode golden =
                JSON.readTree(Assets.require("models/stories260K-expected.json").toFile());
        List<Integer> goldenIds = new ArrayList<>();
        for (int i = 0; i < N; i++)
            goldenIds.add(golden.get("greedy").get("generated_ids").get(i).asInt());
        assertEquals(goldenIds, base, "our fp32 base, golden greedy ids");

        ObjectNode spec = JSON.createObjectNode();
        spec.put("lib", lib.toString());
        ArrayNode cases = spec.putArray("cases");
        ObjectNode c = greedyCase(cases, "base-f32", out.resolve("base-f32.gguf"), null);
        ArrayNode texts = c.putArray("tokenize");
        JsonNode enc = golden.get("tok512_encodings_no_bos");
        for (Iterator<String> it = enc.fieldNames(); it.hasNext(); ) texts.add(it.next());
        greedyCase(cases, "base-f32+adapter-f32", out.resolve("base-f32.gguf"), out.resolve("adapter-f32.gguf"));
        greedyCase(cases, "merged-f32", out.resolve("merged-f32.gguf"), null);
        greedyCase(cases, "merged-f16", out.resolve("merged-f16.gguf"), null);
        ObjectNode q8 = cases.addObject();
        q8.put("name", "merged-q8_0");
        q8.put("model", out.resolve("merged-q8_0.gguf").toString());
        ArrayNode forced = q8.putArray("forced");
        ours.forEach(forced::add);
        JsonNode res = llama(tmp, spec).get("cases");

        assertEquals(goldenIds, ints(res.get("base-f32").get("greedy")), "llama.cpp on base-f32.gguf vs golden ids");
        for (Iterator<Map.Entry<String, JsonNode>> it = enc.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertEquals(
                    ints(e.getValue()),
                    ints(res.get("base-f32").get("tokenize").get(e.getKey())),
                    "llama.cpp's tokens of '" + e.getKey() + "' vs tok512's golden encoding");
        }
        for (String name : List.of("base-f32+adapter-f32", "merged-f32", "merged-f16")) {
            assertEquals(ours, ints(res.get(name).get("greedy")), "llama.cpp's greedy ids on " + name + " vs ours");
        }
        List<Integer> top = ints(res.get("merged-q8_0").get("forcedTop"));
        JsonNode gaps = res.get("merged-q8_0").get("forcedGap");
        assertEquals(ours.size(), top.size());
        int different = 0;
        for (int i = 0; i < top.size(); i++) {
            if (top.get(i).equals(ours.get(i))) continue;
            different++;
            double gap = gaps.get(i).asDouble();
            assertTrue(
                    gap <= Q8_0_MAX_GAP,
                    "merged-q8_0 position " + i + ": llama.cpp's top token " + top.get(i) + " beats ours " + ours.get(i)
                            + " by " + gap + " logits (allowed " + Q8_0_MAX_GAP + ")");
        }
        assertTrue(
                different <= Q8_0_MAX_DIFFERENT,
                "merged-q8_0: " + different + " of " + top.size() + " top tokens " + "differ from ours: " + top + " vs "
                        + ours);
    }

    private static ObjectNode greedyCase(ArrayNode cases, String name, Path model, Path lora) {
        ObjectNode c = cases.addObject();
        c.put("name", name);
        c.put("model", model.toString());
        if (lora != null) c.put("lora", lora.toString());
        c.put("n", N);
        return c;
    }

    /** Runs a {@code lakelora} command in this JVM; returns stdout, failing with stderr on a non-zero exit. */
    static String run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            code = Cli.run(args, List.of());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        assertEquals(ExitCodes.OK, code, args[0] + " failed: " + err.toString(StandardCharsets.UTF_8));
        return out.toString(StandardCharsets.UTF_8);
    }

    private static List<Integer> ids(String generateJson) throws IOException {
        return ints(JSON.readTree(generateJson).get("ids"));
    }

    static List<Integer> ints(JsonNode a) {
        List<Integer> l = new ArrayList<>();
        for (JsonNode x : a) l.add(x.asInt());
        return l;
    }

    /**
     * The node-llama-cpp installation: {@code -Dlakelora.node.llama.cpp}, {@code LAKELORA_NODE_LLAMA_CPP}, or
     * {@code bin/install-node-llama-cpp}'s default {@code ~/.cache/lakelora/node-llama-cpp}; fails saying how to install
     * it when it (or node) is missing.
     */
    static Path nodeLlamaCpp() {
        String prop = System.getProperty("lakelora.node.llama.cpp");
        String env = System.getenv("LAKELORA_NODE_LLAMA_CPP");
        String cache = System.getenv("XDG_CACHE_HOME");
        Path dir = prop != null && !prop.isBlank()
                ? Path.of(prop)
                : env != null && !env.isBlank()
                        ? Path.of(env)
                        : (cache != null && !cache.isBlank()
                                        ? Path.of(cache)
                                        : Path.of(System.getProperty("user.home"), ".cache"))
                                .resolve("lakelora/node-llama-cpp");
        String fix = " Fix: run bin/install-node-llama-cpp (it runs `npm install --omit=optional --ignore-scripts "
                + "node-llama-cpp@3.22.1 @node-llama-cpp/linux-x64@3.22.1` in " + dir + "; ~85 MB, Node.js >= 20), or "
                + "point LAKELORA_NODE_LLAMA_CPP / -Dlakelora.node.llama.cpp at such an installation";
        if (!Files.isRegularFile(dir.resolve("node_modules/node-llama-cpp/package.json"))
                || !Files.isDirectory(dir.resolve("node_modules/@node-llama-cpp/linux-x64/bins"))) {
            fail("llama.cpp (npm node-llama-cpp 3.22.1 with @node-llama-cpp/linux-x64) is not installed in " + dir
                    + ", and this test checks our GGUF files with it." + fix);
        }
        try {
            Process p = new ProcessBuilder(node(), "--version")
                    .redirectErrorStream(true)
                    .start();
            String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) fail("`node --version` failed: " + v + fix);
        } catch (IOException | InterruptedException e) {
            fail("cannot run node (" + e.getMessage() + "); Node.js >= 20 is needed to run llama.cpp here." + fix);
        }
        return dir;
    }

    private static String node() {
        String n = System.getenv("LAKELORA_NODE");
        return n != null && !n.isBlank() ? n : "node";
    }

    /** Runs the node script on {@code spec}; returns its JSON output. */
    static JsonNode llama(Path tmp, JsonNode spec) throws Exception {
        Path specFile = tmp.resolve("llama-spec.json");
        Files.writeString(specFile, JSON.writeValueAsString(spec));
        Path errFile = tmp.resolve("llama-stderr.txt");
        Process p = new ProcessBuilder(node(), SCRIPT.toAbsolutePath().toString(), specFile.toString())
                .redirectError(errFile.toFile())
                .start();
        byte[] stdout = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("llama.cpp did not finish in 120 s");
        }
        assertEquals(0, p.exitValue(), "llama.cpp run failed: " + Files.readString(errFile));
        return JSON.readTree(stdout);
    }
}
