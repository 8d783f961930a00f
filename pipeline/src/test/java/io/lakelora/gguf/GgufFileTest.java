package io.lakelora.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.error.BadInputException;
import io.lakelora.tokenizer.SentencePieceVocab;
import io.lakelora.util.Assets;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reader on a GGUF that llama.cpp's tooling wrote (the shared asset llama-2-tiny-random.gguf: 1 block, embedding 8,
 * F16, LLaMA-2's real 32000-token vocabulary), cross-checked with LLaMA-2's tokenizer.model; our writer read back;
 * and corrupt files, which fail naming the file.
 */
class GgufFileTest {
    @TempDir
    Path dir;

    @Test
    void readsAGgufWrittenByLlamaCppTooling() {
        Path f = Assets.require("models/llama-2-tiny-random-gguf/llama-2-tiny-random.gguf");
        SentencePieceVocab llama2 = SentencePieceVocab.of(Assets.require("tokenizers/llama2/tokenizer.model"));
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals(3, g.version());
            assertEquals("llama", g.metadata().get("general.architecture"));
            assertEquals(1L, g.metadata().get("llama.block_count"));
            assertEquals(8L, g.metadata().get("llama.embedding_length"));
            assertEquals(GgufValueType.UINT32, g.types().get("llama.block_count"));
            assertEquals("llama", g.metadata().get("tokenizer.ggml.model"));
            List<?> tokens = (List<?>) g.metadata().get("tokenizer.ggml.tokens");
            List<?> scores = (List<?>) g.metadata().get("tokenizer.ggml.scores");
            List<?> types = (List<?>) g.metadata().get("tokenizer.ggml.token_type");
            assertEquals(32000, tokens.size());
            for (int i = 0; i < 32000; i++) {
                SentencePieceVocab.Piece p = llama2.pieces().get(i);
                assertEquals(p.text(), tokens.get(i), "token " + i);
                assertEquals(p.score(), (Float) scores.get(i), 0f, "score " + i);
                assertEquals((long) p.type(), types.get(i), "type " + i);
            }
            GgufFile.TensorInfo emb = g.tensors().get("token_embd.weight");
            assertArrayEquals(new long[] {8, 32000}, emb.ne());
            assertEquals(GgmlType.F16, emb.type());
            assertEquals(12, g.tensors().size());
            float[] v = g.readFloats("blk.0.ffn_down.weight");
            assertEquals(32 * 8, v.length);
            assertTrue(Arrays.stream(toDouble(v)).allMatch(Double::isFinite));
            assertTrue(Arrays.stream(toDouble(v)).anyMatch(d -> d != 0));
        }
    }

    @Test
    void writtenFilesReadBack() {
        Random rnd = new Random(3);
        float[] a = new float[64 * 3];
        for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian();
        float[] norm = {1f, 2f, 3f};
        Path f = dir.resolve("t.gguf");
        long size = new GgufWriter(f)
                .putString("general.architecture", "llama")
                .putU32("llama.block_count", 4_000_000_000L)
                .putI32("x.i", -5)
                .putF32("x.f", 1.5f)
                .putBool("x.b", true)
                .putStrings("x.s", List.of("a", "▁b", ""))
                .putF32s("x.fs", new float[] {-1f, 0.25f})
                .putI32s("x.is", new int[] {1, 6})
                .addTensor("w.f32", GgmlType.F32, new long[] {64, 3}, () -> a)
                .addTensor("w.q8", GgmlType.Q8_0, new long[] {64, 3}, () -> a)
                .addTensor("w.f16", GgmlType.F16, new long[] {64, 3}, () -> a)
                .addTensor("n", GgmlType.F32, new long[] {3}, () -> norm)
                .write();
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals(Files.isRegularFile(f) ? size : -1, size);
            assertEquals(4_000_000_000L, g.metadata().get("llama.block_count"));
            assertEquals(-5L, g.metadata().get("x.i"));
            assertEquals(1.5f, g.metadata().get("x.f"));
            assertEquals(true, g.metadata().get("x.b"));
            assertEquals(List.of("a", "▁b", ""), g.metadata().get("x.s"));
            assertEquals(List.of(-1f, 0.25f), g.metadata().get("x.fs"));
            assertEquals(List.of(1L, 6L), g.metadata().get("x.is"));
            assertEquals(
                    List.of("w.f32", "w.q8", "w.f16", "n"),
                    List.copyOf(g.tensors().keySet()));
            for (GgufFile.TensorInfo t : g.tensors().values()) assertEquals(0, t.offset() % GgufWriter.ALIGNMENT);
            assertArrayEquals(a, g.readFloats("w.f32"));
            assertArrayEquals(norm, g.readFloats("n"));
            ByteBuffer q = ByteBuffer.allocate(34 * 6).order(ByteOrder.LITTLE_ENDIAN);
            GgmlType.Q8_0.encode(a, 0, a.length, q);
            q.flip();
            float[] want = new float[a.length];
            GgmlType.Q8_0.decode(q, want, 0, want.length);
            assertArrayEquals(want, g.readFloats("w.q8"));
            float[] h = g.readFloats("w.f16");
            for (int i = 0; i < a.length; i++) assertEquals(a[i], h[i], Math.abs(a[i]) * 1e-3 + 1e-7);
        }
        assertThrows(
                IllegalArgumentException.class,
                () -> new GgufWriter(f).putU32("a", 1).putU32("a", 2));
        assertThrows(
                IllegalArgumentException.class,
                () -> new GgufWriter(f).addTensor("q", GgmlType.Q8_0, new long[] {172, 2}, () -> new float[344]));
        assertThrows(
                IllegalArgumentException.class,
                () -> new GgufWriter(f).addTensor("x".repeat(64), GgmlType.F32, new long[] {1}, () -> new float[1]));
    }

    @Test
    void corruptFilesFailNamingTheFile() throws Exception {
        Path good = dir.resolve("good.gguf");
        new GgufWriter(good)
                .putString("general.name", "x")
                .addTensor("t", GgmlType.F32, new long[] {8}, () -> new float[8])
                .write();
        byte[] bytes = Files.readAllBytes(good);

        Path bad = dir.resolve("bad.gguf");
        Files.write(bad, "PK\3\4 not a gguf at all".getBytes());
        BadInputException e = assertThrows(BadInputException.class, () -> GgufFile.open(bad));
        assertTrue(e.getMessage().contains(bad.toString()) && e.getMessage().contains("magic"), e.getMessage());

        Files.write(bad, Arrays.copyOf(bytes, bytes.length - 8)); // tensor data cut short
        e = assertThrows(BadInputException.class, () -> GgufFile.open(bad));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());

        byte[] huge = bytes.clone(); // the first key's length (after magic, version and two counts) -> 2^62
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(24, 1L << 62);
        Files.write(bad, huge);
        e = assertThrows(BadInputException.class, () -> GgufFile.open(bad));
        assertTrue(e.getMessage().contains("string length"), e.getMessage());

        byte[] many = bytes.clone(); // a metadata count no file of this size can hold
        ByteBuffer.wrap(many).order(ByteOrder.LITTLE_ENDIAN).putLong(16, 1L << 40);
        Files.write(bad, many);
        e = assertThrows(BadInputException.class, () -> GgufFile.open(bad));
        assertTrue(e.getMessage().contains("metadata count"), e.getMessage());

        Files.write(bad, Arrays.copyOf(bytes, 20)); // cut inside the counts
        e = assertThrows(BadInputException.class, () -> GgufFile.open(bad));
        assertTrue(
                e.getMessage().contains(bad.toString()) && e.getMessage().contains("remaining bytes"), e.getMessage());
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }
}
