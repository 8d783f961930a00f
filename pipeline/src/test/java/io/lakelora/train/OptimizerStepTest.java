package io.lakelora.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.AdapterState;
import io.lakelora.lora.TargetModule;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class OptimizerStepTest {
    @Test
    void stepDividesSumsByTokensClipsUpdatesAndZeroes() {
        AdapterState s = new AdapterState(new AdapterLayout(1, 2, 2, 2, 2, 1, EnumSet.of(TargetModule.Q)));
        // slab of 4: A [1, 2], B [2, 1]
        float[] g = s.grads();
        g[0] = 30f;
        g[1] = 40f; // summed over 10 tokens: mean gradient (3, 4, 0, 0), norm 5
        OptimizerConfig oc = new OptimizerConfig(0.1, List.of(0.9, 0.999), 1e-8, 0.0, 1.0);
        OptimizerStep opt = new OptimizerStep(oc, new LrSchedule(LrSchedule.Type.CONSTANT, 0.1, 0, 10));
        OptimizerState os = opt.newState(s);
        OptimizerStep.StepResult r = opt.step(s, os, 10);
        assertEquals(1, r.step());
        assertEquals(5.0, r.gradNorm(), 1e-6);
        assertEquals(0.1, r.lr());
        // first AdamW step moves every coordinate with a non-zero gradient by lr * sign(g) (m_hat / sqrt(v_hat) = +-1)
        assertArrayEquals(new float[] {-0.1f, -0.1f, 0f, 0f}, s.params(), 1e-6f);
        assertArrayEquals(new float[4], s.grads(), 0f);
        assertEquals(1, s.step());
        // clipped gradient (0.6, 0.8) went into the moments
        assertEquals(0.06f, os.floats("m")[0], 1e-7f);
        assertEquals(0.08f, os.floats("m")[1], 1e-7f);
    }
}
