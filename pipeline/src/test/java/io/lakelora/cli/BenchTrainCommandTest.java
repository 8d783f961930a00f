package io.lakelora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.bench.BenchShape;
import io.lakelora.bench.LoraStepFlops;
import io.lakelora.bench.TrainStepBench;
import io.lakelora.error.ExitCodes;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.Architecture;
import io.lakelora.model.LoraSpec;
import io.lakelora.model.ModelConfig;
import java.nio.file.Path;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plumbing of {@code bench-train} at tiny sizes: the FLOP count against hand arithmetic, the JSON of our side (a
 * real child JVM, no torch: {@code --no-torch}; the torch script is exercised by the command itself), AdamW and PEFT
 * init. No timing is asserted.
 */
class BenchTrainCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    /** C=8, 1 layer, NH=2, NKV=1 (HS=4, QD=8, KVD=4), F=16, V=10. */
    static ModelConfig micro() {
        return ModelConfig.builder(Architecture.LLAMA)
                .vocabSize(10)
                .hiddenSize(8)
                .intermediateSize(16)
                .numLayers(1)
                .numHeads(2)
                .numKvHeads(1)
                .maxPositionEmbeddings(16)
                .build();
    }

    @Test
    void flopCountMatchesHandArithmetic() {
        // linears [out x in]: q 8x8=64, k 4x8=32, v 32, o 64, gate 16x8=128, up 128, down 8x16=128 -> P = 576
        assertEquals(576, LoraStepFlops.linearParams(micro()));
        // in+out: q 16, k 12, v 12, o 16, gate 24, up 24, down 24 -> 128
        assertEquals(128, LoraStepFlops.loraInPlusOut(micro(), EnumSet.allOf(TargetModule.class)));
        // B=1, T=4 (N=4), r=2, 3 target rows:
        //   base 4*576*4 = 9216; LoRA 6*2*128*4 = 6144; attention 12*QD*pairs*B*L = 12*8*(4*5/2)*1*1 = 960;
        //   head 4*V*C*targets = 4*10*8*3 = 960; total 17280
        LoraStepFlops f = LoraStepFlops.of(micro(), 2, EnumSet.allOf(TargetModule.class), 1, 4, 3);
        assertEquals(9216, f.baseLinear());
        assertEquals(6144, f.lora());
        assertEquals(960, f.attention());
        assertEquals(960, f.head());
        assertEquals(17280, f.total());
        // q and v only: in+out 16 + 12 = 28 -> LoRA 6*2*28*4 = 1344; two sequences double everything but the head
        LoraStepFlops qv = LoraStepFlops.of(micro(), 2, EnumSet.of(TargetModule.Q, TargetModule.V), 2, 4, 3);
        assertEquals(2688, qv.lora());
        assertEquals(18432, qv.baseLinear());
        assertEquals(1920, qv.attention());
        assertEquals(960, qv.head());
        // params: embedding 80 (untied: x2) + linears 576 + norms (2*1+1)*8 = 24 -> 760
        assertEquals(760, LoraStepFlops.totalParams(micro()));
    }

    @Test
    void shapesAreTheAdvertisedOnes() {
        // TinyLlama-1.1B: 1,100,048,384 parameters (its model card / HF config: 22 layers, 2048, 5632, 32/4 heads)
        assertEquals(
                1_100_048_384L,
                LoraStepFlops.totalParams(BenchShape.named("tinyllama").config()));
        // Llama-3-8B: 8,030,261,248 parameters (Meta's figure for the HF checkpoint)
        assertEquals(
                8_030_261_248L,
                LoraStepFlops.totalParams(BenchShape.named("llama3-8b").config()));
        assertEquals(500000.0, BenchShape.named("llama3-8b").config().ropeTheta());
        // Qwen3-1.7B: 1.7B parameters, 1.4B outside the embedding (its model card); in detail: embedding
        // 151936 x 2048 = 311,164,928 (tied), linears 28 x (2 x 2048^2 + 2 x 1024 x 2048 + 3 x 2048 x 6144) =
        // 1,409,286,144, norms 28 x (2 x 2048 + 2 x 128) + 2048 = 123,904 (q_norm / k_norm included)
        ModelConfig qwen3 = BenchShape.named("qwen3-1.7b").config();
        assertEquals(1_720_574_976L, LoraStepFlops.totalParams(qwen3));
        assertEquals(1_409_286_144L, LoraStepFlops.linearParams(qwen3));
        assertEquals(Architecture.QWEN3, qwen3.architecture());
        assertEquals(128, qwen3.headDim());
        assertTrue(qwen3.tieWordEmbeddings());
        // Llama-3-70B: 70,553,706,496 parameters (Meta's figure for the HF checkpoint); streamed, no torch peer
        BenchShape big = BenchShape.named("llama3-70b");
        assertEquals(70_553_706_496L, LoraStepFlops.totalParams(big.config()));
        assertTrue(big.streamed() && big.recompute() && !big.torchPeer());
        assertEquals(500000.0, big.config().ropeTheta());
        assertEquals(4, big.withLayers(4).config().numLayers());
        assertEquals("llama3-70b-4l", big.withLayers(4).name());
        // 100m: 12 x (4 x 768^2 + 3 x 768 x 2048) = 84,934,656 linear weights
        assertEquals(
                84_934_656L, LoraStepFlops.linearParams(BenchShape.named("100m").config()));
    }

    @Test
    void ourSideReportsEveryFieldInJson() throws Exception {
        ModelCommandsTest.Run r = ModelCommandsTest.cli(
                "bench-train",
                "--configs",
                "tiny",
                "--threads",
                "1",
                "--seq",
                "16",
                "--rank",
                "4",
                "--steps",
                "2",
                "--no-torch",
                "--json");
        assertEquals(ExitCodes.OK, r.code(), r.err());
        JsonNode j = JSON.readTree(r.out());
        for (String k : new String[] {
            "load_average_before",
            "cpus",
            "kernels",
            "setup",
            "fma_peak_gflops_per_core",
            "torch",
            "shapes",
            "results",
            "load_average_after"
        }) {
            assertTrue(j.has(k), "missing " + k + " in " + j);
        }
        assertTrue(j.get("fma_peak_gflops_per_core").asDouble() > 0);
        JsonNode shape = j.get("shapes").get("tiny");
        // tiny (C=64, 2 layers, QD=64, KVD=32, F=128, V=256), T=16, r=4, 15 targets:
        //   linears per layer 4096+2048+2048+4096+3*8192 = 36864, x2 = 73728 -> base 4*73728*16 = 4,718,592
        //   in+out per layer 128+96+96+128+192+192+192 = 1024, x2 = 2048 -> LoRA 6*4*2048*16 = 786,432
        //   attention 12*64*(16*17/2)*2 = 208,896; head 4*256*64*15 = 983,040; total 6,696,960
        assertEquals(6_696_960L, shape.get("flops_per_step").asLong());
        assertTrue(shape.get("ours_peak_rss_mb").asLong() > 0, shape.toString());
        assertTrue(shape.get("ours_weights_mb").asDouble() > 0);
        assertEquals("skipped (--no-torch)", shape.get("torch").asText());
        assertEquals(1, j.get("results").size());
        JsonNode row = j.get("results").get(0);
        assertEquals("tiny", row.get("config").asText());
        assertEquals(1, row.get("threads").asInt());
        for (String k : new String[] {"ours_tok_s", "ours_step_s", "ours_cpu_s"}) {
            assertTrue(row.get(k).asDouble() > 0 && Double.isFinite(row.get(k).asDouble()), k + " in " + row);
        }
        // the tiny shape uses a fraction of a percent of the FMA peak: MFU rounds to 0.0-0.1 here
        for (String k : new String[] {"ours_mfu_pct", "ours_mfu_cpu_pct"}) {
            assertTrue(row.has(k) && row.get(k).asDouble() >= 0 && row.get(k).asDouble() <= 100, k + " in " + row);
        }
        // random weights of std 0.02 give nearly uniform logits: the first loss is ln(256) = 5.545
        assertEquals(Math.log(256), row.get("ours_loss_first").asDouble(), 0.05);
        assertFalse(row.has("ratio_ours_vs_torch"));
    }

    @Test
    void aStreamedShapeWritesItsCheckpointOnceAndReportsItsReading(@TempDir Path cache) throws Exception {
        String[] args = {
            "bench-train",
            "--configs",
            "tiny",
            "--stream",
            "--cache-dir",
            cache.toString(),
            "--threads",
            "1",
            "--seq",
            "16",
            "--rank",
            "4",
            "--steps",
            "2",
            "--no-torch",
            "--json"
        };
        ModelCommandsTest.Run r = ModelCommandsTest.cli(args);
        assertEquals(ExitCodes.OK, r.code(), r.err());
        JsonNode j = JSON.readTree(r.out());
        JsonNode shape = j.get("shapes").get("tiny");
        assertEquals(2, shape.get("checkpoint").get("layers_written").asInt(), shape.toString());
        assertEquals(
                cache.resolve("tiny-seed1").toString(),
                shape.get("checkpoint").get("dir").asText());
        assertEquals(2, shape.get("ours_streaming").get("ring_slots").asInt());
        JsonNode row = j.get("results").get(0);
        // the median of two steps is their mean; the io figures are the step closest to it (the first: 2L - K = 2
        // layers read; the second reads none, the ring still holds both)
        assertTrue(row.get("ours_layers_read").asInt() <= 2, row.toString());
        assertTrue(row.get("ours_io_hidden_pct").asDouble() >= 0, row.toString());
        assertTrue(row.get("ours_peak_anon_rss_mb").asLong() > 0, row.toString());
        assertTrue(
                row.get("ours_peak_anon_rss_mb").asLong()
                        <= row.get("ours_peak_rss_mb").asLong(),
                row.toString());
        // the same as in memory: random weights of std 0.02 give a first loss of ln(256)
        assertEquals(Math.log(256), row.get("ours_loss_first").asDouble(), 0.05);

        // again: the checkpoint is reused; --io-only passes over the layers without computing
        String[] again = java.util.Arrays.copyOf(args, args.length + 1);
        again[args.length] = "--io-only";
        r = ModelCommandsTest.cli(again);
        assertEquals(ExitCodes.OK, r.code(), r.err());
        j = JSON.readTree(r.out());
        assertEquals(
                0,
                j.get("shapes")
                        .get("tiny")
                        .get("checkpoint")
                        .get("layers_written")
                        .asInt());
        assertEquals(
                2,
                j.get("shapes").get("tiny").get("checkpoint").get("layers_kept").asInt());
        row = j.get("results").get(0);
        assertTrue(row.get("io_only").asBoolean(), row.toString());
        assertTrue(row.get("ours_read_gb_per_step").asDouble() >= 0, row.toString());
    }

    @Test
    void roundsMergeEveryTimedStepOfEveryRound() throws Exception {
        // two rounds of our side (two child JVMs; no torch): the row's steps are both rounds' 2 + 2 timed steps, the
        // reported step time is their median and tokens/s follows from it
        ModelCommandsTest.Run r = ModelCommandsTest.cli(
                "bench-train",
                "--configs",
                "tiny",
                "--threads",
                "1",
                "--seq",
                "16",
                "--rank",
                "4",
                "--steps",
                "2",
                "--rounds",
                "2",
                "--no-torch",
                "--json");
        assertEquals(ExitCodes.OK, r.code(), r.err());
        assertTrue(r.err().contains("tiny (round 1 of 2)") && r.err().contains("tiny (round 2 of 2)"), r.err());
        JsonNode row = JSON.readTree(r.out()).get("results").get(0);
        // tokens/s comes from the unrounded median, the reported step from it rounded to 1 ms
        double step = row.get("ours_step_s").asDouble();
        double tok = row.get("ours_tok_s").asDouble();
        assertEquals(16.0, tok * step, tok * 0.0005 + 1e-3, row.toString());
        assertEquals(2, row.get("ours_load").asText().split(",").length, row.toString());
        r = ModelCommandsTest.cli("bench-train", "--configs", "tiny", "--rounds", "0", "--no-torch");
        assertEquals(ExitCodes.BAD_CONFIG, r.code());
        assertTrue(r.err().contains("--rounds must be >= 1"), r.err());
    }

    @Test
    void mergedRoundsTakeTheMedianOfAllSteps() throws Exception {
        BenchTrainCommand c = new BenchTrainCommand();
        c.seq = 100;
        JsonNode a = JSON.readTree("{\"build_s\": 1.0, \"peak_rss_mb\": 50, \"runs\": [{\"threads\": 1,"
                + " \"step_s\": [1.0, 4.0, 2.0], \"median_step_s\": 2.0, \"median_cpu_s\": 2.5, \"tok_s\": 50}]}");
        JsonNode b = JSON.readTree("{\"build_s\": 2.0, \"peak_rss_mb\": 70, \"runs\": [{\"threads\": 1,"
                + " \"step_s\": [3.0, 5.0, 6.0], \"median_step_s\": 5.0, \"median_cpu_s\": 4.5, \"tok_s\": 20}]}");
        JsonNode m = c.merged(java.util.List.of(a, b));
        JsonNode run = m.get("runs").get(0);
        // all six steps 1 2 3 4 5 6: median 3.5; 100 tokens / 3.5 s; CPU: the median of 2.5 and 4.5; RSS: the larger
        assertEquals(6, run.get("step_s").size());
        assertEquals(3.5, run.get("median_step_s").asDouble(), 0);
        assertEquals(100 / 3.5, run.get("tok_s").asDouble(), 1e-3);
        assertEquals(3.5, run.get("median_cpu_s").asDouble(), 0);
        assertEquals(70, m.get("peak_rss_mb").asLong());
        assertEquals(1.0, m.get("build_s").asDouble(), 0);
    }

    @Test
    void unknownShapeAndBadNumbersAreClearErrors() {
        ModelCommandsTest.Run r = ModelCommandsTest.cli("bench-train", "--configs", "gpt5", "--no-torch");
        assertEquals(ExitCodes.BAD_CONFIG, r.code());
        assertTrue(r.err().contains("unknown shape 'gpt5'") && r.err().contains("tinyllama"), r.err());
        r = ModelCommandsTest.cli("bench-train", "--configs", "tiny", "--steps", "0", "--no-torch");
        assertEquals(ExitCodes.BAD_CONFIG, r.code());
        assertTrue(r.err().contains("--steps must be >= 1"), r.err());
    }

    @Test
    void benchAdamWFirstStepAndPeftInit() {
        // the bench steps with the engine's AdamW at its settings. Step 1: m = 0.1 g, v = 0.001 g^2,
        // bias-corrected m/(1-0.9) = g, sqrt(v/(1-0.999)) = |g|: p1 = p (1 - lr wd) - lr g / (|g| + eps)
        float[] p = {1f, -1f};
        float[] g = {2f, -0.5f};
        TrainStepBench.ADAMW.update(p, g, new float[2], new float[2], 1, TrainStepBench.LR);
        assertEquals(1.0 - 1e-6 - 1e-4, p[0], 1e-7);
        assertEquals(-1.0 + 1e-6 + 1e-4, p[1], 1e-7);
        AdapterLayout layout =
                LoraSpec.of(4, 8, false, 0, EnumSet.allOf(TargetModule.class)).layout(micro());
        float[] init = TrainStepBench.peftInit(layout, 3);
        for (AdapterLayout.Tensor t : layout.tensors()) {
            double bound = 1 / Math.sqrt(t.cols());
            double maxAbs = 0;
            for (int i = 0; i < t.size(); i++) maxAbs = Math.max(maxAbs, Math.abs(init[t.offset() + i]));
            if (t.isA()) {
                assertTrue(maxAbs <= bound && maxAbs > bound / 2, t.peftKey() + " max |A| " + maxAbs);
            } else {
                assertEquals(0.0, maxAbs, t.peftKey() + " must start at zero");
            }
        }
    }
}
