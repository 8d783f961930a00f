package io.lakelora.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class SamplerTest {
    final float[] logits = {1.0f, 3.0f, 2.0f, 0.5f, 3.0f};

    @Test
    void greedyTakesTheFirstMaximum() {
        assertEquals(1, new Sampler(0f, 0, 1f, 0).sample(logits));
    }

    @Test
    void samplingFollowsSoftmaxOfTopK() {
        // top-k 3 keeps ids 1, 4 (logit 3) and 2 (logit 2); at T=1: p = e^3, e^3, e^2 normalized
        Sampler s = new Sampler(1f, 3, 1f, 123);
        int[] counts = new int[logits.length];
        int n = 60000;
        for (int i = 0; i < n; i++) counts[s.sample(logits)]++;
        double z = 2 * Math.exp(3) + Math.exp(2);
        assertEquals(0, counts[0]);
        assertEquals(0, counts[3]);
        assertEquals(Math.exp(3) / z, counts[1] / (double) n, 0.01);
        assertEquals(Math.exp(3) / z, counts[4] / (double) n, 0.01);
        assertEquals(Math.exp(2) / z, counts[2] / (double) n, 0.01);
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        // at T=1 the two logit-3 tokens hold 2e^3/(2e^3+e^2+e+e^0.5) = 0.79 of the mass: top_p 0.5 keeps exactly them
        Sampler s = new Sampler(1f, 0, 0.5f, 9);
        int[] counts = new int[logits.length];
        for (int i = 0; i < 20000; i++) counts[s.sample(logits)]++;
        assertEquals(0, counts[0] + counts[2] + counts[3]);
        assertEquals(0.5, counts[1] / 20000.0, 0.02);
    }

    @Test
    void rejectsBadSettings() {
        assertThrows(IllegalArgumentException.class, () -> new Sampler(-1f, 0, 1f, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Sampler(1f, 0, 0f, 0));
        assertEquals("top_p must be in (0, 1], got 0.0", e.getMessage());
    }
}
