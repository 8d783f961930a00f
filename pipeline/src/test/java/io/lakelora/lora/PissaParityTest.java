package io.lakelora.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.lakelora.train.Fixtures;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** PiSSA init against peft's pissa_init run in torch (fixture from gen_train_fixtures.py). */
class PissaParityTest {
    @Test
    void matchesPeftPissaInitUpToSingularVectorSigns() {
        JsonNode fx = Fixtures.json("/fixtures/train/pissa.json");
        int out = fx.get("out").asInt();
        int in = fx.get("in").asInt();
        int r = fx.get("r").asInt();
        AdapterLayout layout = new AdapterLayout(1, in, out, out, 8, r, EnumSet.of(TargetModule.Q));
        AdapterState s = new AdapterState(layout);
        FakeBase base = new FakeBase(false, out, in);
        base.put(0, TargetModule.Q, Fixtures.floats(fx.get("weight")));
        LoraConfig cfg = LoraConfig.of(r, fx.get("lora_alpha").asDouble(), List.of("q_proj"))
                .withInit("pissa");
        LoraInit.initialize(s, cfg, 0, base, null);

        float[] a = AdapterState.copyOf(s.params(), layout.find(0, TargetModule.Q, true));
        float[] b = AdapterState.copyOf(s.params(), layout.find(0, TargetModule.Q, false));
        float[] ea = Fixtures.floats(fx.get("lora_A"));
        float[] eb = Fixtures.floats(fx.get("lora_B"));
        for (int t = 0; t < r; t++) {
            // singular vectors are defined up to a sign; A's row t and B's column t flip together
            double sign = Math.signum(a[t * in]) == Math.signum(ea[t * in]) ? 1 : -1;
            for (int j = 0; j < in; j++)
                assertEquals(ea[t * in + j], sign * a[t * in + j], 2e-6, "A[" + t + "," + j + "]");
            for (int i = 0; i < out; i++)
                assertEquals(eb[i * r + t], sign * b[i * r + t], 2e-6, "B[" + i + "," + t + "]");
        }
        float[] res = base.dequantized(0, TargetModule.Q);
        float[] er = Fixtures.floats(fx.get("residual"));
        for (int i = 0; i < res.length; i++) assertEquals(er[i], res[i], 2e-6, "residual[" + i + "]");
    }
}
