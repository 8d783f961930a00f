package io.lakelora.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.AdapterState;
import io.lakelora.lora.TargetModule;
import io.lakelora.util.Rng;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
    @TempDir
    Path dir;

    private static AdapterState filled(int r, long seed) {
        AdapterState s = new AdapterState(
                new AdapterLayout(2, 16, 16, 8, 24, r, EnumSet.of(TargetModule.Q, TargetModule.V, TargetModule.DOWN)));
        Rng rng = new Rng(seed);
        for (float[] slab : new float[][] {s.params(), s.m(), s.v()}) {
            for (int i = 0; i < slab.length; i++) slab[i] = (float) rng.nextGaussian();
        }
        s.params()[3] = Float.MIN_VALUE; // a subnormal survives bit for bit
        s.m()[5] = -0.0f;
        s.setStep(17);
        return s;
    }

    @Test
    void roundTripIsBitIdentical() throws Exception {
        AdapterState s = filled(4, 1);
        Path f = dir.resolve("a.ckpt");
        Checkpoint.write(f, s, new Checkpoint.Progress(123456789L, 42, 9999, "abc"));
        AdapterState back = new AdapterState(s.layout());
        back.grads()[0] = 5f;
        Checkpoint.Progress p = Checkpoint.read(f, back);
        assertEquals(new Checkpoint.Progress(123456789L, 42, 9999, "abc"), p);
        assertEquals(17, back.step());
        assertArrayEquals(s.params(), back.params());
        assertArrayEquals(s.m(), back.m());
        assertArrayEquals(s.v(), back.v());
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(back.m()[5]));
        assertEquals(0f, back.grads()[0]);
        try (var files = Files.list(dir)) {
            assertEquals(List.of(f), files.toList(), "no temporary file left behind");
        }
    }

    @Test
    void keepsTheLastNAndFindsTheLatest() {
        AdapterState s = filled(4, 2);
        for (long step : new long[] {5, 10, 15, 20}) {
            s.setStep(step);
            Checkpoint.save(dir, s, new Checkpoint.Progress(step, step, step, "h"), 2);
        }
        List<Path> left = Checkpoint.list(dir);
        assertEquals(List.of(dir.resolve("step-00000015.ckpt"), dir.resolve("step-00000020.ckpt")), left);
        assertEquals(dir.resolve("step-00000020.ckpt"), Checkpoint.latest(dir).orElseThrow());
        assertTrue(Checkpoint.latest(dir.resolve("none")).isEmpty());
    }

    private String errorReading(Path f, AdapterState into) {
        return assertThrows(IllegalArgumentException.class, () -> Checkpoint.read(f, into))
                .getMessage();
    }

    @Test
    void corruptTruncatedAndForeignFilesAreClearErrors() throws Exception {
        AdapterState s = filled(4, 3);
        Path f = dir.resolve("step-00000017.ckpt");
        Checkpoint.write(f, s, new Checkpoint.Progress(1, 2, 3, "h"));
        byte[] good = Files.readAllBytes(f);

        byte[] flipped = good.clone();
        flipped[good.length / 2] ^= 0x10;
        Files.write(f, flipped);
        String msg = errorReading(f, new AdapterState(s.layout()));
        assertTrue(msg.contains("is corrupt") && msg.contains("checksum"), msg);
        assertTrue(msg.contains(f.toString()) && msg.contains("Fix:"), msg);

        Files.write(f, java.util.Arrays.copyOf(good, good.length - 100));
        msg = errorReading(f, new AdapterState(s.layout()));
        assertTrue(msg.contains("truncated"), msg);

        Files.write(f, java.util.Arrays.copyOf(good, 10));
        msg = errorReading(f, new AdapterState(s.layout()));
        assertTrue(msg.contains("truncated"), msg);

        Files.writeString(f, "definitely not a checkpoint, just some text that is long enough");
        msg = errorReading(f, new AdapterState(s.layout()));
        assertTrue(msg.contains("magic"), msg);

        Files.write(f, good);
        AdapterState otherRank = filled(8, 3);
        msg = errorReading(f, new AdapterState(otherRank.layout()));
        assertTrue(msg.contains("another adapter layout") && msg.contains("r=4") && msg.contains("r=8"), msg);
    }
}
