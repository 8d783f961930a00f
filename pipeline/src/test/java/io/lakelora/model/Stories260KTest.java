package io.lakelora.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.train.Batch;
import io.lakelora.util.Assets;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The real pretrained stories260K (shared assets) in HF layout: greedy decoding from BOS must reproduce the golden
 * 200 ids of {@code stories260K-expected.json} (llama2.c's test_all.py expected output, reproduced there by two
 * independent numpy forwards).
 */
class Stories260KTest {
    static final Path MODEL = Assets.require("models/stories260K-hf");

    static int[] goldenIds() throws Exception {
        JsonNode g = new ObjectMapper()
                .readTree(Assets.require("models/stories260K-expected.json").toFile())
                .get("greedy");
        int[] ids = new int[g.get("generated_ids").size()];
        for (int i = 0; i < ids.length; i++)
            ids[i] = g.get("generated_ids").get(i).asInt();
        assertEquals(200, ids.length);
        assertEquals(1, g.get("prompt_ids").size());
        return ids;
    }

    @Test
    void greedy200TokensFromBosMatchGolden() throws Exception {
        LlamaWeights w = LlamaLoader.load(MODEL, null);
        assertEquals(5, w.arch().numLayers());
        assertEquals(true, w.arch().tieWordEmbeddings());
        LlamaSession s = new LlamaSession(w, KernelProvider.get(), null, 256, 64);
        Set<Integer> eos = Set.of(w.arch().eosTokenIds()[0]);
        Generator.Result r = Generator.generate(s, new int[] {1}, Generator.Config.greedy(200, eos), null);
        assertArrayEquals(goldenIds(), r.tokens());
        assertTrue(!r.stoppedAtEos());
    }

    /** Mean NLL (nats) of each story of the shared TinyStories sample (BOS + story, at most 512 tokens). */
    static double[] storiesNll(LlamaWeights w) throws Exception {
        String text = java.nio.file.Files.readString(Assets.require("corpora/tinystories_sample.txt"));
        double sum = 0;
        long n = 0;
        try (io.lakelora.tokenizer.Tokenizer tok = io.lakelora.tokenizer.Tokenizer.load(MODEL)) {
            LlamaSession s = new LlamaSession(w, KernelProvider.get(), null, 512, 128);
            for (String story : text.split("<\\|endoftext\\|>")) {
                if (story.isBlank()) continue;
                int[] ids = tok.encode(story.strip(), true);
                double[] r = s.score(java.util.Arrays.copyOf(ids, Math.min(ids.length, 512)));
                sum += r[0];
                n += (long) r[1];
            }
        }
        return new double[] {sum / n, n};
    }

    /**
     * NF4 + double quantization (QLoRA's storage) against fp32: how many of the 200 greedy tokens survive and how much
     * the NLL of held-out text moves. Quantized on the fly and from a checkpoint written by QuantizedCheckpoint: the
     * same bits, so the same tokens.
     */
    @Test
    void nf4DoubleQuantKeepsTheModel(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        LlamaWeights fp32 = LlamaLoader.load(MODEL, null);
        io.lakelora.quant.Quantizer qlora = io.lakelora.quant.Quantizer.qlora();
        LlamaWeights nf4 = LlamaLoader.load(MODEL, qlora::quantize);
        assertTrue(nf4.layer(0).q().isQuantized()
                && nf4.layer(0).q().quantizedWeight().doubleQuant());
        int[] golden = goldenIds();
        Generator.Result r = Generator.generate(
                new LlamaSession(nf4, KernelProvider.get(), null, 256, 64),
                new int[] {1},
                Generator.Config.greedy(200, Set.of()),
                null);
        int prefix = 0;
        while (prefix < 200 && r.tokens()[prefix] == golden[prefix]) prefix++;
        int same = 0;
        for (int i = 0; i < 200; i++) if (r.tokens()[i] == golden[i]) same++;
        double[] a = storiesNll(fp32);
        double[] b = storiesNll(nf4);
        int[] seq = new int[201];
        seq[0] = 1;
        System.arraycopy(golden, 0, seq, 1, 200);
        double g32 = new LlamaSession(fp32, KernelProvider.get(), null, 256, 64).score(seq)[0] / 200;
        double g4 = new LlamaSession(nf4, KernelProvider.get(), null, 256, 64).score(seq)[0] / 200;
        System.out.printf(
                "stories260K NF4+DQ: greedy matches fp32 golden on %d/200 positions (first %d in a row); "
                        + "TinyStories sample NLL fp32 %.5f -> nf4 %.5f (%+.5f nats) over %d tokens; golden text NLL %.5f -> "
                        + "%.5f (%+.5f); linear bits/param %.3f%n",
                same, prefix, a[0], b[0], b[0] - a[0], (long) a[1], g32, g4, g4 - g32, nf4.linearBitsPerParam());
        assertTrue(prefix >= 10, "NF4 diverged from the golden greedy text after " + prefix + " tokens");
        // a 260K-parameter model (64-wide) loses more to 4 bits than billion-parameter ones: bound the loss at 15%
        assertTrue(b[0] < 1.15 * a[0], "NF4 moved the held-out NLL from " + a[0] + " to " + b[0]);
        assertTrue(nf4.linearBitsPerParam() < 4.2, "bits/param " + nf4.linearBitsPerParam());

        Path q = tmp.resolve("stories-nf4");
        io.lakelora.quant.io.QuantizedCheckpoint.save(MODEL, q, qlora);
        LlamaWeights stored = LlamaLoader.load(q, null);
        assertEquals(io.lakelora.quant.QuantType.NF4, LlamaLoader.storedQuantization(q));
        Generator.Result r2 = Generator.generate(
                new LlamaSession(stored, KernelProvider.get(), null, 256, 64),
                new int[] {1},
                Generator.Config.greedy(200, Set.of()),
                null);
        assertArrayEquals(r.tokens(), r2.tokens());
    }

    @Test
    void scoringAgreesWithTheTrainingForward() throws Exception {
        LlamaWeights w = LlamaLoader.load(MODEL, null);
        int[] golden = goldenIds();
        int[] seq = new int[golden.length + 1];
        seq[0] = 1;
        System.arraycopy(golden, 0, seq, 1, golden.length);
        double[] score = new LlamaSession(w, KernelProvider.get(), null, 256, 64).score(seq);
        double mean = score[0] / score[1];
        // the model's own greedy continuation is likely under it: mean NLL well below log(512) = 6.24
        assertTrue(mean > 0.1 && mean < 2.0, "mean NLL " + mean);
        LoraLlama train = new LoraLlama(
                w,
                LoraSpec.of(2, 4, false, 0, EnumSet.of(io.lakelora.lora.TargetModule.Q)),
                KernelProvider.get(),
                false);
        float[] zeroAdapter = new float[train.layout().size()]; // B = 0: the adapter is a no-op
        double trainLoss = train.evaluate(zeroAdapter, new Batch(new int[][] {seq}, new int[][] {seq}, null))
                .lossSum();
        assertEquals(score[0], trainLoss, 1e-5 * score[0]);
        System.out.printf("stories260K: mean NLL of its greedy text %.6f nats over %d tokens%n", mean, (long) score[1]);
    }
}
