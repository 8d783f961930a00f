package io.lakelora.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

class AdamWTest {

    @Test
    void twoStepsByHand() {
        // lr 0.1, betas (0.9, 0.99), eps 1e-8, weight decay 0.1, p0 = 1, g = 0.5 then -0.25.
        // step 1: p = 1 * (1 - 0.01) = 0.99; m = 0.05; v = 0.0025; m_hat = 0.5; sqrt(v_hat) = 0.05 / 0.1 = 0.5;
        //         p = 0.99 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.890000002
        // step 2: p = 0.890000002 * 0.99 = 0.88110000198; m = 0.045 - 0.025 = 0.02; v = 0.002475 + 0.000625 = 0.0031;
        //         m_hat = 0.02 / 0.19; sqrt(v_hat) = sqrt(0.0031 / 0.0199) = 0.39468835;
        //         p = 0.88110000198 - 0.1 * (0.02 / 0.19) / (0.39468835 + 1e-8) = 0.85443006
        AdamW opt = new AdamW(0.9, 0.99, 1e-8, 0.1);
        float[] p = {1f};
        float[] m = {0f};
        float[] v = {0f};
        opt.update(p, new float[] {0.5f}, m, v, 1, 0.1);
        assertEquals(0.890000002, p[0], 1e-7);
        assertEquals(0.05, m[0], 1e-8);
        assertEquals(0.0025, v[0], 1e-9);
        opt.update(p, new float[] {-0.25f}, m, v, 2, 0.1);
        assertEquals(0.85443006, p[0], 1e-7);
        assertEquals(0.02, m[0], 1e-8);
        assertEquals(0.0031, v[0], 1e-9);
    }

    @Test
    void badHyperParametersAreErrors() {
        assertThrows(IllegalArgumentException.class, () -> new AdamW(1.0, 0.999, 1e-8, 0));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(0.9, 0.999, -1, 0));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(0.9, 0.999, 1e-8, -0.1));
        AdamW ok = new AdamW(0.9, 0.999, 1e-8, 0);
        assertThrows(
                IllegalArgumentException.class,
                () -> ok.update(new float[2], new float[2], new float[2], new float[2], 0, 1e-3));
    }

    /** torch.optim.AdamW + clip_grad_norm_ + LambdaLR trajectories (fixture from gen_train_fixtures.py). */
    @Test
    void matchesTorchTrajectory() {
        JsonNode root = Fixtures.json("/fixtures/train/adamw_trajectory.json");
        for (JsonNode c : root.get("cases")) {
            String name = c.get("name").asText();
            float[] p = Fixtures.floats(c.get("init"));
            float[] m = new float[p.length];
            float[] v = new float[p.length];
            AdamW opt = new AdamW(
                    c.get("betas").get(0).asDouble(),
                    c.get("betas").get(1).asDouble(),
                    c.get("eps").asDouble(),
                    c.get("weight_decay").asDouble());
            LrSchedule sched = new LrSchedule(
                    LrSchedule.Type.parse(c.get("schedule").asText()),
                    c.get("lr").asDouble(),
                    c.get("warmup_steps").asLong(),
                    c.get("total_steps").asLong());
            double maxNorm = c.get("max_grad_norm").asDouble();
            int k = 0;
            double worst = 0;
            for (JsonNode st : c.get("steps")) {
                float[] g = Fixtures.floats(st.get("grad"));
                double lr = sched.lr(k);
                assertEquals(st.get("lr").asDouble(), lr, 1e-15 * Math.abs(lr) + 1e-18, name + " lr at step " + k);
                double norm = GradClip.clip(g, maxNorm);
                assertEquals(st.get("grad_norm").asDouble(), norm, 1e-6 * norm, name + " grad norm at step " + k);
                opt.update(p, g, m, v, k + 1, lr);
                worst = Math.max(worst, maxRel(Fixtures.floats(st.get("params")), p));
                worst = Math.max(worst, maxRel(Fixtures.floats(st.get("exp_avg")), m));
                worst = Math.max(worst, maxRel(Fixtures.floats(st.get("exp_avg_sq")), v));
                k++;
            }
            System.out.printf(
                    "AdamW vs torch, case %s: max |difference| / max |value| over 10 steps %.3g%n", name, worst);
            assertEquals(0, worst, 1e-6, name);
        }
    }

    /** max |expected - actual| / max |expected|: fp32 rounding differences (torch fuses multiply-adds) stay ~1e-7. */
    private static double maxRel(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        double worst = 0;
        double scale = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        return worst / scale;
    }
}
