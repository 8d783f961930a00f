package io.lakelora.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

class LrScheduleTest {

    /** transformers' lr lambdas through torch's LambdaLR (fixture from gen_train_fixtures.py), steps 0..12 of 10. */
    @Test
    void matchesTransformersFormulas() {
        JsonNode root = Fixtures.json("/fixtures/train/schedules.json");
        int cases = 0;
        for (JsonNode c : root.get("cases")) {
            LrSchedule s = new LrSchedule(
                    LrSchedule.Type.parse(c.get("type").asText()),
                    c.get("base_lr").asDouble(),
                    c.get("warmup_steps").asLong(),
                    c.get("total_steps").asLong());
            JsonNode lrs = c.get("lrs");
            for (int k = 0; k < lrs.size(); k++) {
                double expected = lrs.get(k).asDouble();
                assertEquals(expected, s.lr(k), 1e-15 * expected + 1e-20, c + " step " + k);
            }
            cases++;
        }
        assertEquals(6, cases);
    }

    @Test
    void handValues() {
        // cosine, warmup 2 of 10: step 0 -> 0, step 1 -> 0.5, step 2 -> 1, step 6 (progress 0.5) -> 0.5, step 10 -> 0
        LrSchedule c = new LrSchedule(LrSchedule.Type.COSINE, 1.0, 2, 10);
        assertEquals(0.0, c.lr(0));
        assertEquals(0.5, c.lr(1));
        assertEquals(1.0, c.lr(2));
        assertEquals(0.5, c.lr(6), 1e-15);
        assertEquals(0.0, c.lr(10), 1e-15);
        // linear, no warmup: (10 - s) / 10
        LrSchedule l = new LrSchedule(LrSchedule.Type.LINEAR, 2.0, 0, 10);
        assertEquals(2.0, l.lr(0));
        assertEquals(0.6, l.lr(7), 1e-15);
        assertEquals(0.0, l.lr(12));
    }

    @Test
    void warmupRatioIsCeiled() {
        assertEquals(3, LrSchedule.warmupSteps(0, 0.03, 100));
        assertEquals(4, LrSchedule.warmupSteps(0, 0.03, 101)); // ceil(3.03)
        assertEquals(7, LrSchedule.warmupSteps(7, 0.5, 100)); // explicit steps win
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.warmupSteps(0, 1.5, 10));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.Type.parse("exponential"));
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(LrSchedule.Type.LINEAR, 0, 0, 10));
    }
}
