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
        JsonNode g = new ObjectMapper().readTree(Assets.require("models/stories260K-expected.json").toFile()).get("greedy");
        int[] ids = new int[g.get("generated_ids").size()];
        for (int i = 0; i < ids.length; i++) ids[i] = g.get("generated_ids").get(i).asInt();
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
        LoraLlama train = new LoraLlama(w, LoraSpec.of(2, 4, false, 0, EnumSet.of(io.lakelora.lora.TargetModule.Q)),
                KernelProvider.get(), false);
        float[] zeroAdapter = new float[train.layout().size()]; // B = 0: the adapter is a no-op
        double trainLoss = train.evaluate(zeroAdapter, new Batch(new int[][] {seq}, new int[][] {seq}, null)).lossSum();
        assertEquals(score[0], trainLoss, 1e-5 * score[0]);
        System.out.printf("stories260K: mean NLL of its greedy text %.6f nats over %d tokens%n", mean, (long) score[1]);
    }
}
