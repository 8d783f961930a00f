package io.lakelora.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.lora.AdapterState;
import io.lakelora.lora.LoraInit;
import io.lakelora.tokenizer.Tokenizer;
import io.lakelora.util.Assets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trainer's loop, determinism, checkpoints and resume, on the test model {@link ToyLoraLm}. */
class LocalTrainerTest {
    private static Tokenizer tok;
    private static TokenBlocks[] split;

    @TempDir
    Path dir;

    @BeforeAll
    static void data() {
        tok = Tokenizer.load(Assets.require("models/stories260K-hf"));
        List<Document> docs = TrainingData.read(Assets.require("corpora/tinystories_sample.txt"), tok);
        split = TokenBlocks.pack(docs, 32, tok.eosId()).split(0.2, 42);
    }

    @AfterAll
    static void close() {
        if (tok != null) tok.close();
    }

    private static TrainConfig cfg(String... extra) {
        List<String> o = new ArrayList<>(List.of(
                "block_size=32",
                "micro_batch=2",
                "grad_accum=2",
                "steps=12",
                "optimizer.lr=0.01",
                "optimizer.max_grad_norm=1.0",
                "schedule.type=cosine",
                "schedule.warmup_steps=2",
                "lora.r=4",
                "lora.lora_alpha=8",
                "lora.target_modules=[q_proj]",
                "eval_interval=4",
                "checkpoint_interval=4",
                "keep_checkpoints=2",
                "quant=none"));
        o.addAll(List.of(extra));
        return TrainConfig.load(List.of(), o);
    }

    private static ToyLoraLm model(double dropout) {
        return new ToyLoraLm(tok.vocabSize(), 16, 4, 2.0, dropout, 3);
    }

    static float[] init(TrainConfig c, TrainableModel m) {
        AdapterState s = new AdapterState(m.layout());
        LoraInit.initialize(s, c.lora(), c.seed(), null, null);
        return s.params();
    }

    private TrainingLoop.Result train(TrainConfig c, ToyLoraLm m, Path out, long stopAfter, List<String> lines) {
        LocalTrainer t = new LocalTrainer(c, m, init(c, m), split[0], split[1], out, lines::add);
        if (stopAfter > 0) t.stopAfter(stopAfter);
        return t.run();
    }

    @Test
    void trainingLowersTheEvalLoss() {
        List<String> lines = new ArrayList<>();
        TrainingLoop.Result r = train(cfg("steps=40", "eval_interval=20"), model(0), dir.resolve("a"), 0, lines);
        System.out.printf(
                "toy model on tinystories_sample: eval loss %.4f -> %.4f after %d steps%n",
                r.firstEval(), r.lastEval(), r.totalSteps());
        assertTrue(r.lastEval() < r.firstEval() - 0.1, r.evals().toString());
        assertEquals(3, r.evals().size()); // step 0, 20, 40
        assertTrue(
                lines.stream()
                        .anyMatch(l -> l.matches("step 40/40 \\| loss \\d+\\.\\d{4} \\| lr .* \\| grad_norm .*"
                                + " \\| \\d+ tok/s \\| eta .*")),
                lines.toString());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("eval step 20 | loss ")));
        assertEquals(
                List.of(dir.resolve("a/step-00000040.ckpt")),
                Checkpoint.list(dir.resolve("a")).subList(1, 2));
    }

    @Test
    void sameSeedAndDataGiveBitIdenticalAdapters() {
        TrainingLoop.Result a = train(cfg("lora.lora_dropout=0.1"), model(0.1), dir.resolve("a"), 0, new ArrayList<>());
        TrainingLoop.Result b = train(cfg("lora.lora_dropout=0.1"), model(0.1), dir.resolve("b"), 0, new ArrayList<>());
        assertArrayEquals(a.state().params(), b.state().params());
        TrainingLoop.Result c =
                train(cfg("lora.lora_dropout=0.1", "seed=7"), model(0.1), dir.resolve("c"), 0, new ArrayList<>());
        assertFalse(java.util.Arrays.equals(a.state().params(), c.state().params()), "another seed, another adapter");
    }

    @Test
    void killedAndResumedRunEndsBitIdentical() throws Exception {
        TrainConfig c = cfg("lora.lora_dropout=0.1");
        TrainingLoop.Result whole = train(c, model(0.1), dir.resolve("whole"), 0, new ArrayList<>());

        Path out = dir.resolve("killed");
        TrainingLoop.Result first = train(c, model(0.1), out, 6, new ArrayList<>());
        assertTrue(first.interrupted());
        assertEquals(6, first.state().step());
        // "killed" after step 6: the newest checkpoint on disk is step 4, steps 5-6 are redone on resume
        assertEquals(out.resolve("step-00000004.ckpt"), Checkpoint.latest(out).orElseThrow());

        List<String> lines = new ArrayList<>();
        TrainingLoop.Result resumed = train(c, model(0.1), out, 0, lines);
        assertTrue(resumed.resumed());
        assertEquals(4, resumed.resumedFromStep());
        assertTrue(
                lines.get(0).startsWith("resuming from " + out.resolve("step-00000004.ckpt") + ": step 4 of 12"),
                lines.get(0));
        assertArrayEquals(whole.state().params(), resumed.state().params());
        assertArrayEquals(
                whole.optimizerState().floats("m"), resumed.optimizerState().floats("m"));
        assertArrayEquals(
                whole.optimizerState().floats("v"), resumed.optimizerState().floats("v"));
        assertEquals(whole.tokensSeen(), resumed.tokensSeen());
        assertArrayEquals(
                Files.readAllBytes(dir.resolve("whole/step-00000012.ckpt")),
                Files.readAllBytes(out.resolve("step-00000012.ckpt")),
                "final checkpoints are byte-identical");
    }

    @Test
    void killedAndResumedAdamW8bitRunEndsBitIdentical() throws Exception {
        TrainConfig c = cfg("lora.lora_dropout=0.1", "optimizer.type=adamw8bit");
        TrainingLoop.Result whole = train(c, model(0.1), dir.resolve("whole"), 0, new ArrayList<>());
        assertEquals(
                List.of("state1", "state2", "absmax1", "absmax2"),
                whole.optimizerState().slabs().stream()
                        .map(Optimizer.Slab::name)
                        .toList());

        Path out = dir.resolve("killed");
        TrainingLoop.Result first = train(c, model(0.1), out, 6, new ArrayList<>());
        assertTrue(first.interrupted());
        assertEquals(out.resolve("step-00000004.ckpt"), Checkpoint.latest(out).orElseThrow());
        TrainingLoop.Result resumed = train(c, model(0.1), out, 0, new ArrayList<>());
        assertTrue(resumed.resumed());
        assertEquals(4, resumed.resumedFromStep());
        assertArrayEquals(whole.state().params(), resumed.state().params());
        assertTrue(whole.optimizerState().sameAs(resumed.optimizerState()), "8-bit states and absmax bit-identical");
        assertArrayEquals(
                Files.readAllBytes(dir.resolve("whole/step-00000012.ckpt")),
                Files.readAllBytes(out.resolve("step-00000012.ckpt")),
                "final checkpoints are byte-identical");

        // the 8-bit run trained (its adapter moved) and is not the fp32 run's adapter
        TrainingLoop.Result fp32 =
                train(cfg("lora.lora_dropout=0.1"), model(0.1), dir.resolve("fp32"), 0, new ArrayList<>());
        assertFalse(java.util.Arrays.equals(fp32.state().params(), whole.state().params()));
        assertFalse(java.util.Arrays.equals(init(c, model(0.1)), whole.state().params()));
    }

    @Test
    void rerunningACompletedRunSaysSoAndChangesNothing() {
        TrainingLoop.Result a = train(cfg(), model(0), dir.resolve("a"), 0, new ArrayList<>());
        List<String> lines = new ArrayList<>();
        TrainingLoop.Result again = train(cfg(), model(0), dir.resolve("a"), 0, lines);
        assertTrue(
                lines.stream().anyMatch(l -> l.startsWith("training already complete at step 12")), lines.toString());
        assertArrayEquals(a.state().params(), again.state().params());
    }

    @Test
    void resumingWithOtherSettingsOrACorruptCheckpointIsAClearError() throws Exception {
        Path out = dir.resolve("a");
        train(cfg(), model(0), out, 6, new ArrayList<>());
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> train(cfg("optimizer.lr=0.02"), model(0), out, 0, new ArrayList<>()));
        assertTrue(
                e.getMessage().contains("other settings or data")
                        && e.getMessage().contains("Fix:"),
                e.getMessage());

        Path latest = Checkpoint.latest(out).orElseThrow();
        byte[] bytes = Files.readAllBytes(latest);
        Files.write(latest, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        e = assertThrows(IllegalArgumentException.class, () -> train(cfg(), model(0), out, 0, new ArrayList<>()));
        assertTrue(e.getMessage().contains(latest.toString()) && e.getMessage().contains("corrupt"), e.getMessage());
    }
}
