package io.lakelora.cli;

import static io.lakelora.cli.ModelCommandsTest.cli;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.ExitCodes;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.AdapterState;
import io.lakelora.lora.LoraConfig;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.LlamaSession;
import io.lakelora.model.LoraAdapter;
import io.lakelora.model.LoraLlama;
import io.lakelora.model.LoraModelBuilder;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.safetensors.DType;
import io.lakelora.safetensors.SafetensorsFile;
import io.lakelora.safetensors.SafetensorsWriter;
import io.lakelora.safetensors.TensorInfo;
import io.lakelora.tokenizer.Tokenizer;
import io.lakelora.train.AdamW;
import io.lakelora.train.Checkpoint;
import io.lakelora.util.Assets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/**
 * PiSSA and LoftQ adapters leave {@code train-local} as plain LoRA adapters of the original base (r = 2r, init true)
 * and {@code score --adapter} reproduces the trained model, on stories260K with an fp32 and an NF4 base.
 *
 * <p>The in-process model is the one train-local trained: its rewritten base {@code base_t} (PiSSA's residual
 * {@code W - s B0 A0}, LoftQ's {@code deq(Q)}; NF4-quantized with quant=nf4) plus {@code s B A} from the last
 * checkpoint, scored here directly. The exported adapter carries {@code s (B A - B0 A0)}, so:
 *
 * <ol>
 *   <li>on {@code base_t + s B0 A0} (the weights the training started from, written here as an fp32 model) it gives
 *       the in-process scores up to float rounding, within {@value #EXACT} nats per line in every case (measured
 *       at most 8e-7); the unconverted adapter misses there by 0.08 (LoftQ) to 4.5 nats (PiSSA);
 *   <li>on the original base, loaded as a consumer loads it, it is exact for PiSSA trained on fp32 (there
 *       {@code base_t + s B0 A0 = W}). Elsewhere the quantization residual remains ({@code base_t + s B0 A0 != W},
 *       and {@code NF4(W) != W}), as PEFT documents for its own conversion. That gap in mean NLL must stay within
 *       {@value #QUANT_GAP} nats (measured 0.009-0.016) and below the gap that NF4 quantization alone opens on the
 *       base model (0.069).
 * </ol>
 *
 * For PiSSA the unconverted adapter on the original base counts B0 A0 twice (3.5 nats off). For LoftQ it is not
 * that simple: with loftq_iter 1 its base deq(Q) is plain NF4(W), so on an NF4 base the unconverted adapter is the
 * trained model itself, and the converted one is off by s B0 A0 (0.016 nats), while on fp32 the converted one is
 * closer (0.009 vs 0.030). The export targets W, the one base every consumer can name.
 */
class PissaLoftqExportTest {
    static final Path MODEL = Assets.require("models/stories260K-hf");
    static final Path DATA = Assets.require("corpora/tinystories_sample.txt");
    static final ObjectMapper JSON = new ObjectMapper();

    /** Float rounding only: s B0 A0 applied in the dense weight instead of the LoRA branch. */
    static final double EXACT = 1e-5;

    /** The quantization residual's effect on the mean NLL over the texts. */
    static final double QUANT_GAP = 0.05;

    static final List<String> TEXTS = List.of(
            "Once upon a time, there was a little dog named Max. Max liked to run in the park with his ball.",
            "One day, a girl named Lily found a shiny stone. She showed it to her mom and they both smiled.",
            "Tom and Sue went to the store. They saw a big red ball and wanted to play with it all day.",
            "The sun was hot, so the cat slept under the tree. When it woke up, it was hungry and sad.");

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} (loftq_iter {2}) on {1}")
    @CsvSource({"pissa, none, 1", "pissa, nf4, 1", "loftq, none, 1", "loftq, nf4, 1", "loftq, nf4, 3"})
    void exportedAdapterReproducesTheTrainedModel(String init, String quant, int loftqIter) throws Exception {
        Path out = dir.resolve("out");
        LoraModelBuilder.Built built = trainLocal(init, quant, loftqIter, out);
        LoraLlama model = (LoraLlama) built.model();
        AdapterLayout layout = model.layout();
        AdapterState trained = new AdapterState(layout);
        Checkpoint.read(
                Checkpoint.latest(out.resolve("checkpoints")).orElseThrow(),
                trained,
                new AdamW(0.9, 0.999, 1e-8, 0).newState(layout));
        double s = model.spec().scaling();

        // the written config: PEFT's conversion (r doubled, alpha doubled, plain init)
        JsonNode c = JSON.readTree(out.resolve(PeftAdapter.CONFIG_FILE).toFile());
        assertEquals(8, c.get("r").asInt(), c.toString());
        assertEquals(16.0, c.get("lora_alpha").asDouble(), c.toString());
        assertTrue(
                c.get("init_lora_weights").isBoolean()
                        && c.get("init_lora_weights").asBoolean(),
                c.toString());
        assertEquals(0, c.get("loftq_config").size(), c.toString());

        Path input = dir.resolve("texts.jsonl");
        StringBuilder sb = new StringBuilder();
        for (String t : TEXTS)
            sb.append(JSON.writeValueAsString(Map.of("text", t))).append('\n');
        Files.writeString(input, sb.toString());
        double[] inProcess = inProcessScores(model, trained.params());

        // the unconverted adapter (r=4, trained A and B only), as train-local wrote it before
        Path unconverted = dir.resolve("unconverted");
        PeftAdapter.save(
                unconverted, LoraConfig.of(4, 8, List.of("all-linear")), layout, trained.params(), MODEL.toString());

        // 1. on base_t + s B0 A0: exact
        Path start = writeModel(dir.resolve("start"), model, built.initialParams(), s);
        double[] onStart = score(start, input, "none", out);
        double[] unconvertedOnStart = score(start, input, "none", unconverted);
        double exactErr = maxAbsDiff(onStart, inProcess);
        double unconvertedErr = maxAbsDiff(unconvertedOnStart, inProcess);

        // 2. on the original base, loaded as a consumer would (fp32 or NF4)
        double[] onOriginal = score(MODEL, input, quant, out);
        double[] unconvertedOnOriginal = score(MODEL, input, quant, unconverted);
        double gap = Math.abs(mean(onOriginal) - mean(inProcess));
        double baseGap = Math.abs(mean(score(MODEL, input, "nf4", null)) - mean(score(MODEL, input, "none", null)));
        System.out.printf(
                "%s(%d)/%s: in-process mean NLL %.6f | exported on base_t + s B0 A0: max |d| %.2e (unconverted %.2e) | "
                        + "on the original base (%s): mean %.6f, |d| %.2e (unconverted %.2e) | base model NF4 vs "
                        + "fp32 %.2e%n",
                init,
                loftqIter,
                quant,
                mean(inProcess),
                exactErr,
                unconvertedErr,
                quant,
                mean(onOriginal),
                gap,
                Math.abs(mean(unconvertedOnOriginal) - mean(inProcess)),
                baseGap);

        assertTrue(exactErr <= EXACT, "exported adapter on base_t + s B0 A0: max |d| " + exactErr);
        assertTrue(unconvertedErr > 100 * EXACT, "the unconverted adapter should miss there: " + unconvertedErr);
        if (init.equals("pissa") && quant.equals("none")) {
            assertTrue(
                    maxAbsDiff(onOriginal, inProcess) <= EXACT,
                    "PiSSA on fp32: exact on the original base, max |d| " + maxAbsDiff(onOriginal, inProcess));
        } else {
            assertTrue(gap <= QUANT_GAP, "quantization residual moved the mean NLL by " + gap);
            assertTrue(gap < baseGap, "gap " + gap + " exceeds what NF4 does to the base model, " + baseGap);
        }
        if (init.equals("pissa")) {
            double doubleCounted = Math.abs(mean(unconvertedOnOriginal) - mean(inProcess));
            assertTrue(doubleCounted > 1.0, "unconverted PiSSA counts B0 A0 twice: |d| " + doubleCounted);
        }
        if (init.equals("pissa") && quant.equals("none")) rerunConvertsAnOldUnconvertedOutput(out, layout, trained);
    }

    /**
     * The fix the import error names: an output written unconverted (as train-local did before, config still "pissa")
     * is refused, and rerunning the same command over it resumes from its last checkpoint and rewrites it converted.
     */
    private void rerunConvertsAnOldUnconvertedOutput(Path out, AdapterLayout layout, AdapterState trained)
            throws Exception {
        byte[] converted = Files.readAllBytes(out.resolve(PeftAdapter.WEIGHTS_FILE));
        LoraConfig old = LoraConfig.of(4, 8, List.of("all-linear")).withInit("pissa");
        PeftAdapter.save(out, old, layout, trained.params(), MODEL.toString());
        ModelCommandsTest.Run refused = cli(
                "score",
                "--model",
                MODEL.toString(),
                "--input",
                dir.resolve("texts.jsonl").toString(),
                "--adapter",
                out.toString());
        assertEquals(ExitCodes.BAD_INPUT, refused.code(), refused.err());
        assertTrue(refused.err().contains("rerun the same train-local command"), refused.err());

        trainLocal("pissa", "none", 1, out);
        assertArrayEquals(converted, Files.readAllBytes(out.resolve(PeftAdapter.WEIGHTS_FILE)));
        assertEquals(
                8,
                JSON.readTree(out.resolve(PeftAdapter.CONFIG_FILE).toFile())
                        .get("r")
                        .asInt());
    }

    private LoraModelBuilder.Built trainLocal(String init, String quant, int loftqIter, Path out) {
        List<String> args = new ArrayList<>(List.of(
                "--model",
                MODEL.toString(),
                "--data",
                DATA.toString(),
                "--out",
                out.toString(),
                "lora.r=4",
                "lora.lora_alpha=8",
                "lora.target_modules=all-linear",
                "lora.init_lora_weights=" + init,
                "lora.loftq_iter=" + loftqIter,
                "quant=" + quant,
                "steps=20",
                "block_size=32",
                "micro_batch=2",
                "grad_accum=1",
                "checkpoint_interval=0",
                "eval_interval=0",
                "optimizer.lr=5e-3",
                "threads=1"));
        LoraModelBuilder.Built[] built = new LoraModelBuilder.Built[1];
        TrainLocalCommand cmd = new TrainLocalCommand(
                (md, cfg) -> built[0] = LoraModelBuilder.build(md.path(), LoraModelBuilder.Spec.of(cfg), cfg.seed()));
        new CommandLine(cmd).parseArgs(args.toArray(String[]::new));
        assertEquals("done", cmd.execute().get("status"));
        return built[0];
    }

    /** Mean NLL per text under the trained model itself (its rewritten base and the trained, unconverted A/B). */
    private static double[] inProcessScores(LoraLlama model, float[] params) {
        LoraAdapter a = new LoraAdapter(model.spec().withoutDropout(), model.layout(), params);
        double[] v = new double[TEXTS.size()];
        try (Tokenizer tok = Tokenizer.load(MODEL)) {
            for (int i = 0; i < v.length; i++) {
                int[] ids = tok.encode(TEXTS.get(i), true);
                double[] s =
                        new LlamaSession(model.weights(), KernelProvider.withThreads(1), a, ids.length, 256).score(ids);
                v[i] = s[0] / s[1];
            }
        }
        return v;
    }

    /**
     * stories260K with every adapted weight replaced by {@code base_t + s B0 A0} (the trained model's base, as it
     * computes, plus the initial adapter), in fp32; the other tensors and files copied.
     */
    private static Path writeModel(Path to, LoraLlama model, float[] init, double s) throws Exception {
        Files.createDirectories(to);
        try (var files = Files.list(MODEL)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals("model.safetensors")) Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        AdapterLayout layout = model.layout();
        Map<String, float[]> replaced = new HashMap<>();
        for (int l = 0; l < layout.numLayers(); l++) {
            for (TargetModule m : layout.targets()) {
                float[] w = model.weights().layer(l).linear(m).weightFp32();
                AdapterLayout.Tensor a = layout.find(l, m, true);
                AdapterLayout.Tensor b = layout.find(l, m, false);
                int r = a.rows();
                int in = a.cols();
                for (int i = 0; i < b.rows(); i++) {
                    for (int j = 0; j < in; j++) {
                        double ba = 0;
                        for (int k = 0; k < r; k++)
                            ba += (double) init[b.offset() + i * r + k] * init[a.offset() + k * in + j];
                        w[i * in + j] = (float) (w[i * in + j] + s * ba);
                    }
                }
                replaced.put(m.modulePath(l) + ".weight", w);
            }
        }
        SafetensorsWriter w = new SafetensorsWriter(to.resolve("model.safetensors")).metadata("format", "pt");
        try (SafetensorsFile src = SafetensorsFile.open(MODEL.resolve("model.safetensors"))) {
            for (TensorInfo t : src.tensors().values()) {
                float[] v = replaced.containsKey(t.name()) ? replaced.remove(t.name()) : src.readFloats(t.name());
                w.add(t.name(), DType.F32, t.shape(), v);
            }
        }
        assertTrue(replaced.isEmpty(), "not in model.safetensors: " + replaced.keySet());
        w.write();
        return to;
    }

    private static double[] score(Path model, Path input, String quant, Path adapter) {
        List<String> a = new ArrayList<>(
                List.of("score", "--model", model.toString(), "--input", input.toString(), "--quant", quant, "--json"));
        if (adapter != null) {
            a.add("--adapter");
            a.add(adapter.toString());
        }
        ModelCommandsTest.Run r = cli(a.toArray(String[]::new));
        assertEquals(ExitCodes.OK, r.code(), r.err());
        try {
            JsonNode lines = JSON.readTree(r.out()).get("lines");
            double[] v = new double[lines.size()];
            for (int i = 0; i < v.length; i++)
                v[i] = lines.get(i).get("mean_nll").asDouble();
            return v;
        } catch (Exception e) {
            throw new AssertionError("score output " + r.out(), e);
        }
    }

    private static double maxAbsDiff(double[] x, double[] y) {
        double m = 0;
        for (int i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
        return m;
    }

    private static double mean(double[] x) {
        double t = 0;
        for (double v : x) t += v;
        return t / x.length;
    }
}
