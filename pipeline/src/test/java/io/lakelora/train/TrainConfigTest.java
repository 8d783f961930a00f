package io.lakelora.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.lora.TargetModule;
import io.lakelora.quant.QuantType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class TrainConfigTest {
    static Path conf(String name) {
        Path p = Path.of(System.getProperty("lakelora.root", ".."))
                .resolve("conf")
                .resolve(name);
        if (!Files.isRegularFile(p)) throw new IllegalStateException("config not found: " + p);
        return p;
    }

    @Test
    void shippedConfigLoadsWithQloraDefaults() {
        TrainConfig c = TrainConfig.load(List.of(conf("train_local.yaml")), List.of());
        assertEquals(64, c.lora().r());
        assertEquals(0.25, c.lora().scaling());
        assertEquals(EnumSet.allOf(TargetModule.class), c.lora().targets());
        assertEquals(2e-4, c.optimizer().lr());
        assertEquals(0.3, c.optimizer().maxGradNorm());
        assertEquals(0.999, c.optimizer().beta2());
        assertEquals(LrSchedule.Type.CONSTANT, c.schedule().type());
        assertEquals(0.03, c.schedule().warmupRatio());
        assertEquals(QuantType.NF4, c.quant());
        assertTrue(c.doubleQuant());
        assertTrue(c.toJson().contains("\"lora_alpha\" : 16.0"), c.toJson());
    }

    @Test
    void overridesApplyAndUnknownKeysOrBadValuesAreErrors() {
        TrainConfig c = TrainConfig.load(
                List.of(conf("train_local.yaml")),
                List.of("lora.r=8", "steps=100", "quant=none", "schedule.type=cosine"));
        assertEquals(8, c.lora().r());
        assertEquals(100, c.steps());
        assertEquals(QuantType.NONE, c.quant());
        assertEquals(3, c.schedule().build(1e-3, 100).warmupSteps());

        String m = assertThrows(
                        IllegalArgumentException.class, () -> TrainConfig.load(List.of(), List.of("learning_rate=0.1")))
                .getMessage();
        assertTrue(m.contains("unknown key 'learning_rate'"), m);
        m = assertThrows(
                        IllegalArgumentException.class, () -> TrainConfig.load(List.of(), List.of("optimizer.lr=fast")))
                .getMessage();
        assertTrue(m.contains("optimizer.lr"), m);
        assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(List.of(), List.of("quant=int8")));
        assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(List.of(), List.of("micro_batch=0")));
        assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(List.of(), List.of("eval_fraction=1")));
        assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(List.of(), List.of("lora.r=0")));
    }

    @Test
    void trajectoryHashIgnoresBookkeepingOnly() {
        String h = TrainConfig.load(List.of(), List.of()).trajectoryHash();
        assertEquals(
                h,
                TrainConfig.load(
                                List.of(),
                                List.of(
                                        "checkpoint_interval=7",
                                        "eval_interval=3",
                                        "log_interval=9",
                                        "threads=2",
                                        "keep_checkpoints=5"))
                        .trajectoryHash());
        assertNotEquals(h, TrainConfig.load(List.of(), List.of("seed=1")).trajectoryHash());
        assertNotEquals(
                h, TrainConfig.load(List.of(), List.of("lora.lora_dropout=0.1")).trajectoryHash());
    }
}
