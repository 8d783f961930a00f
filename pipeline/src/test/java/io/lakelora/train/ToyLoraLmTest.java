package io.lakelora.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lakelora.util.Rng;
import org.junit.jupiter.api.Test;

/** The test model's own gradient is right (central finite differences), so trainer tests rest on a correct model. */
class ToyLoraLmTest {
    @Test
    void gradientMatchesFiniteDifferences() {
        ToyLoraLm m = new ToyLoraLm(20, 6, 3, 2.0, 0.0, 5);
        float[] p = new float[m.layout().size()];
        Rng rng = new Rng(9);
        for (int i = 0; i < p.length; i++) p[i] = (float) (0.3 * rng.nextGaussian());
        Batch b = new Batch(new int[][] {{1, 5, 7, 2, 19, 3}}, new int[][] {{1, 5, -100, 2, 19, 3}}, null);
        float[] g = new float[p.length];
        m.forwardBackward(p, g, b, 0);
        for (int i = 0; i < p.length; i++) {
            float keep = p[i];
            float h = 1e-2f;
            p[i] = keep + h;
            double up = m.evaluate(p, b).lossSum();
            p[i] = keep - h;
            double down = m.evaluate(p, b).lossSum();
            p[i] = keep;
            double fd = (up - down) / ((double) (keep + h) - (keep - h));
            assertEquals(fd, g[i], 1e-3 * Math.max(1, Math.abs(fd)), "param " + i);
        }
    }
}
