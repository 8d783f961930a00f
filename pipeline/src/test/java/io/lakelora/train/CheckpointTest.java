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

    private static final AdamW ADAMW = new AdamW(0.9, 0.999, 1e-8, 0);

    /** An adapter and its AdamW state, filled with gaussians. */
    private record Filled(AdapterState s, OptimizerState opt) {}

    private static Filled filled(int r, long seed) {
        AdapterState s = new AdapterState(
                new AdapterLayout(2, 16, 16, 8, 24, r, EnumSet.of(TargetModule.Q, TargetModule.V, TargetModule.DOWN)));
        OptimizerState o = ADAMW.newState(s.layout());
        Rng rng = new Rng(seed);
        for (float[] slab : new float[][] {s.params(), o.floats("m"), o.floats("v")}) {
            for (int i = 0; i < slab.length; i++) slab[i] = (float) rng.nextGaussian();
        }
        s.params()[3] = Float.MIN_VALUE; // a subnormal survives bit for bit
        o.floats("m")[5] = -0.0f;
        s.setStep(17);
        return new Filled(s, o);
    }

    @Test
    void roundTripIsBitIdentical() throws Exception {
        Filled in = filled(4, 1);
        AdapterState s = in.s();
        Path f = dir.resolve("a.ckpt");
        Checkpoint.write(f, s, in.opt(), new Checkpoint.Progress(123456789L, 42, 9999, "abc"));
        AdapterState back = new AdapterState(s.layout());
        OptimizerState backOpt = ADAMW.newState(s.layout());
        back.grads()[0] = 5f;
        Checkpoint.Progress p = Checkpoint.read(f, back, backOpt);
        assertEquals(new Checkpoint.Progress(123456789L, 42, 9999, "abc"), p);
        assertEquals(17, back.step());
        assertArrayEquals(s.params(), back.params());
        assertArrayEquals(in.opt().floats("m"), backOpt.floats("m"));
        assertArrayEquals(in.opt().floats("v"), backOpt.floats("v"));
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(backOpt.floats("m")[5]));
        assertEquals(0f, back.grads()[0]);
        try (var files = Files.list(dir)) {
            assertEquals(List.of(f), files.toList(), "no temporary file left behind");
        }
    }

    @Test
    void keepsTheLastNAndFindsTheLatest() {
        Filled in = filled(4, 2);
        AdapterState s = in.s();
        for (long step : new long[] {5, 10, 15, 20}) {
            s.setStep(step);
            Checkpoint.save(dir, s, in.opt(), new Checkpoint.Progress(step, step, step, "h"), 2);
        }
        List<Path> left = Checkpoint.list(dir);
        assertEquals(List.of(dir.resolve("step-00000015.ckpt"), dir.resolve("step-00000020.ckpt")), left);
        assertEquals(dir.resolve("step-00000020.ckpt"), Checkpoint.latest(dir).orElseThrow());
        assertTrue(Checkpoint.latest(dir.resolve("none")).isEmpty());
    }

    private String errorReading(Path f, AdapterState into) {
        return errorReading(f, into, ADAMW.newState(into.layout()));
    }

    private String errorReading(Path f, AdapterState into, OptimizerState opt) {
        return assertThrows(IllegalArgumentException.class, () -> Checkpoint.read(f, into, opt))
                .getMessage();
    }

    @Test
    void corruptTruncatedAndForeignFilesAreClearErrors() throws Exception {
        Filled in = filled(4, 3);
        AdapterState s = in.s();
        Path f = dir.resolve("step-00000017.ckpt");
        Checkpoint.write(f, s, in.opt(), new Checkpoint.Progress(1, 2, 3, "h"));
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
        AdapterState otherRank = filled(8, 3).s();
        msg = errorReading(f, new AdapterState(otherRank.layout()));
        assertTrue(msg.contains("another adapter layout") && msg.contains("r=4") && msg.contains("r=8"), msg);

        AdamW8bit eight = new AdamW8bit(0.9, 0.999, 1e-8, 0);
        msg = errorReading(f, new AdapterState(s.layout()), eight.newState(s.layout()));
        assertTrue(msg.contains("optimizer adamw") && msg.contains("uses adamw8bit") && msg.contains("Fix:"), msg);
    }

    @Test
    void eightBitStateRoundTripsBitIdentical() throws Exception {
        AdapterState s = filled(4, 4).s();
        AdamW8bit eight = new AdamW8bit(0.9, 0.999, 1e-8, 0.01);
        OptimizerState o = eight.newState(s.layout());
        Rng rng = new Rng(5);
        for (int step = 1; step <= 3; step++) {
            float[] g = new float[s.params().length];
            for (int i = 0; i < g.length; i++) g[i] = (float) rng.nextGaussian();
            eight.update(s.params(), g, o, step, 1e-3);
        }
        Path f = dir.resolve("b.ckpt");
        Checkpoint.write(f, s, o, new Checkpoint.Progress(1, 2, 3, "h"));
        AdapterState back = new AdapterState(s.layout());
        OptimizerState backOpt = eight.newState(s.layout());
        Checkpoint.read(f, back, backOpt);
        assertArrayEquals(s.params(), back.params());
        assertTrue(o.sameAs(backOpt));
        assertTrue(backOpt.bytes("state1").length > 0 && backOpt.floats("absmax1")[0] > 0);
        // the file holds params f32, state1 and state2 u8, absmax1 and absmax2 f32, besides magic, header and CRC
        long n = s.params().length;
        long blocks = backOpt.floats("absmax1").length;
        assertEquals(2 * n + 8 * blocks, eight.stateBytes(s.layout()));
        byte[] file = Files.readAllBytes(f);
        int headerLen = java.nio.ByteBuffer.wrap(file)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .getInt(12);
        assertEquals(16 + headerLen + 4 * n + 2 * n + 8 * blocks + 8, file.length);
    }

    /** A checkpoint as version 1 wrote it (params, m, v; no optimizer in the header) still resumes AdamW. */
    @Test
    void versionOneFilesReadAsAdamW() throws Exception {
        Filled in = filled(4, 6);
        AdapterState s = in.s();
        com.fasterxml.jackson.databind.ObjectMapper om = new com.fasterxml.jackson.databind.ObjectMapper();
        Path v2 = dir.resolve("v2.ckpt");
        Checkpoint.write(v2, s, in.opt(), new Checkpoint.Progress(7, 8, 9, "h1"));
        // take the v2 header, drop "optimizer", and lay the file out as version 1 did
        byte[] file = Files.readAllBytes(v2);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(file).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int headerLen = b.getInt(12);
        com.fasterxml.jackson.databind.node.ObjectNode h = (com.fasterxml.jackson.databind.node.ObjectNode)
                om.readTree(java.util.Arrays.copyOfRange(file, 16, 16 + headerLen));
        assertTrue(h.has("optimizer"));
        h.remove("optimizer");
        byte[] h1 = om.writeValueAsBytes(h);
        int n = s.params().length;
        java.nio.ByteBuffer out =
                java.nio.ByteBuffer.allocate(16 + h1.length + 12 * n + 8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        out.put("LKLRCKPT".getBytes(java.nio.charset.StandardCharsets.US_ASCII))
                .putInt(1)
                .putInt(h1.length)
                .put(h1);
        for (float[] slab :
                new float[][] {s.params(), in.opt().floats("m"), in.opt().floats("v")}) {
            for (float x : slab) out.putFloat(x);
        }
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(out.array(), 0, out.position());
        out.putLong(crc.getValue());
        Path v1 = dir.resolve("v1.ckpt");
        Files.write(v1, out.array());

        AdapterState back = new AdapterState(s.layout());
        OptimizerState backOpt = ADAMW.newState(s.layout());
        assertEquals(new Checkpoint.Progress(7, 8, 9, "h1"), Checkpoint.read(v1, back, backOpt));
        assertArrayEquals(s.params(), back.params());
        assertTrue(in.opt().sameAs(backOpt));
        String msg =
                errorReading(v1, new AdapterState(s.layout()), new AdamW8bit(0.9, 0.999, 1e-8, 0).newState(s.layout()));
        assertTrue(msg.contains("optimizer adamw"), msg);
    }
}
