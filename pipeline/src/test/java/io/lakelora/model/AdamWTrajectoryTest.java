package io.lakelora.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.train.AdamW;
import io.lakelora.train.LossSum;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Ten AdamW steps on the parity fixtures' batch (gradient of the mean loss, fp32 base) reproduce the loss trajectory
 * torch.optim.AdamW produced in gen_lora_parity.py with the same lr, betas, eps and weight decay.
 */
class AdamWTrajectoryTest {

    @ParameterizedTest
    @ValueSource(strings = {"llama_gqa", "qwen2_tied_packed", "qwen3_tied_packed", "gemma3_sliding"})
    void lossTrajectoryMatchesTorch(String name) throws Exception {
        LoraParityTest.Case c = LoraParityTest.load(name);
        c.expectedTensors().close();
        JsonNode opt = c.expected().get("adamw");
        JsonNode want = c.expected().get("adamw_loss_trajectory");
        AdamW adam = new AdamW(
                opt.get("betas").get(0).asDouble(),
                opt.get("betas").get(1).asDouble(),
                opt.get("eps").asDouble(),
                opt.get("weight_decay").asDouble());
        double lr = opt.get("lr").asDouble();
        LoraLlama model = new LoraLlama(c.weights(), c.spec(), KernelProvider.get(), false);
        float[] p = c.params().clone();
        float[] g = new float[p.length];
        float[] m = new float[p.length];
        float[] v = new float[p.length];
        StringBuilder sb = new StringBuilder(name + " AdamW losses java/torch:");
        double worst = 0;
        for (int step = 1; step <= opt.get("steps").asInt(); step++) {
            java.util.Arrays.fill(g, 0f);
            LossSum ls = model.forwardBackward(p, g, c.batch(), 0);
            float inv = 1f / ls.tokens();
            for (int i = 0; i < g.length; i++) g[i] *= inv; // d(mean loss)
            double ref = want.get(step - 1).asDouble();
            double rel = Math.abs(ls.mean() - ref) / Math.abs(ref);
            worst = Math.max(worst, rel);
            sb.append(String.format(" %.5f/%.5f", ls.mean(), ref));
            adam.update(p, g, m, v, step, lr);
        }
        System.out.println(sb + String.format(" | worst rel %.2e", worst));
        assertEquals(10, want.size());
        assertTrue(worst <= 1e-4, sb.toString());
    }
}
