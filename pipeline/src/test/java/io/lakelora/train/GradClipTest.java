package io.lakelora.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class GradClipTest {
    @Test
    void clipsToMaxNormAndLeavesSmallGradientsAlone() {
        float[] g = {3f, 4f}; // norm 5
        assertEquals(5.0, GradClip.clip(g, 1.0), 1e-12);
        // coef = 1 / (5 + 1e-6)
        assertArrayEquals(new float[] {0.6f, 0.8f}, g, 1e-6f);
        assertEquals(1.0, GradClip.norm(g), 1e-6);

        float[] small = {0.3f, 0.4f};
        assertEquals(0.5, GradClip.clip(small, 1.0), 1e-7);
        assertArrayEquals(new float[] {0.3f, 0.4f}, small, 0f);

        float[] off = {30f, 40f};
        assertEquals(50.0, GradClip.clip(off, 0), 1e-12);
        assertArrayEquals(new float[] {30f, 40f}, off, 0f);
    }
}
