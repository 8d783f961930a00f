package io.lakelora.cli;

import static io.lakelora.cli.ModelCommandsTest.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.ExitCodes;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.LoraConfig;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.ModelConfig;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.safetensors.SafetensorsFile;
import io.lakelora.safetensors.ShardedCheckpoint;
import io.lakelora.util.Assets;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --adapter on generate/score, and the grads command against the PyTorch fixture (gen_lora_parity.py). */
class AdapterCommandsTest {
    static final Path FIXTURE = Path.of("src/test/resources/fixtures/lora_parity/llama_gqa");
    static final String STORIES = Assets.require("models/stories260K-hf").toString();
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void gradsMatchTorchUnderPeftKeys(@TempDir Path tmp) throws Exception {
        int[][] ids;
        int[][] labels;
        try (ShardedCheckpoint ex = ShardedCheckpoint.open(FIXTURE.resolve("expected.safetensors"))) {
            ids = ints(ex, "input_ids");
            labels = ints(ex, "labels");
        }
        Path in = tmp.resolve("in.json");
        Files.writeString(in, JSON.writeValueAsString(java.util.Map.of("input_ids", ids, "labels", labels)));
        Path out = tmp.resolve("grads.safetensors");
        ModelCommandsTest.Run r = cli(
                "grads",
                "--model",
                FIXTURE.toString(),
                "--adapter",
                FIXTURE.resolve("adapter").toString(),
                "--input",
                in.toString(),
                "--out",
                out.toString(),
                "--quant",
                "none",
                "--json");
        assertEquals(ExitCodes.OK, r.code(), r.err());
        JsonNode expected = JSON.readTree(FIXTURE.resolve("expected.json").toFile());
        JsonNode res = JSON.readTree(r.out());
        assertEquals(expected.get("loss").asDouble(), res.get("loss").asDouble(), 1e-5);
        assertEquals(28, res.get("tensors").asInt());
        try (SafetensorsFile got = SafetensorsFile.open(out);
                ShardedCheckpoint ex = ShardedCheckpoint.open(FIXTURE.resolve("expected.safetensors"));
                SafetensorsFile adapter = SafetensorsFile.open(FIXTURE.resolve("adapter/adapter_model.safetensors"))) {
            assertEquals(adapter.tensors().keySet(), got.tensors().keySet(), "same keys as adapter_model.safetensors");
            assertEquals(
                    expected.get("loss").asDouble(),
                    Double.parseDouble(got.metadata().get("loss")),
                    1e-5);
            for (String key : adapter.tensors().keySet()) {
                float[] g = got.readFloats(key);
                float[] want = ex.readFloats("grad." + key);
                double maxRef = 0, maxDiff = 0;
                for (int i = 0; i < g.length; i++) {
                    maxRef = Math.max(maxRef, Math.abs(want[i]));
                    maxDiff = Math.max(maxDiff, Math.abs(g[i] - want[i]));
                }
                assertTrue(maxDiff <= 1e-4 * maxRef, key + " rel error " + maxDiff / maxRef);
            }
        }
        // labels optional: default = input_ids (so the loss differs from the masked one)
        Files.writeString(in, JSON.writeValueAsString(java.util.Map.of("input_ids", ids)));
        r = cli(
                "grads",
                "--model",
                FIXTURE.toString(),
                "--adapter",
                FIXTURE.resolve("adapter").toString(),
                "--input",
                in.toString(),
                "--out",
                out.toString(),
                "--quant",
                "none",
                "--json");
        assertEquals(ExitCodes.OK, r.code(), r.err());
        assertEquals(2 * 11, JSON.readTree(r.out()).get("tokens").asInt());
        Files.writeString(in, "{\"input_ids\": [[1, 2, 3]], \"labels\": [[1, 2]]}");
        r = cli(
                "grads",
                "--model",
                FIXTURE.toString(),
                "--adapter",
                FIXTURE.resolve("adapter").toString(),
                "--input",
                in.toString(),
                "--out",
                out.toString(),
                "--quant",
                "none");
        assertEquals(ExitCodes.BAD_INPUT, r.code());
        assertTrue(r.err().contains("row 0 has 3 input_ids but 2 labels"), r.err());
    }

    static int[][] ints(ShardedCheckpoint ck, String name) {
        long[] shape = ck.info(name).shape();
        ByteBuffer b = ByteBuffer.wrap(ck.readBytes(name)).order(ByteOrder.LITTLE_ENDIAN);
        int[][] out = new int[(int) shape[0]][(int) shape[1]];
        for (int[] row : out) for (int j = 0; j < row.length; j++) row[j] = b.getInt();
        return out;
    }

    /** A PEFT adapter for stories260K on q/v; B zero (PEFT's init, a no-op) or random. */
    static Path storiesAdapter(Path dir, boolean zeroB) {
        ModelConfig cfg = LlamaLoader.config(Path.of(STORIES));
        LoraConfig lc = LoraConfig.of(4, 8, List.of("q_proj", "v_proj"));
        AdapterLayout layout = PeftAdapter.layoutFor(cfg, lc);
        float[] p = new float[layout.size()];
        Random rnd = new Random(5);
        for (AdapterLayout.Tensor t : layout.tensors()) {
            if (!t.isA() && zeroB) continue;
            for (int i = 0; i < t.size(); i++) p[t.offset() + i] = (float) rnd.nextGaussian() * 0.3f;
        }
        PeftAdapter.save(dir, lc, layout, p, "stories260K");
        return dir;
    }

    @Test
    void adapterOnScoreAndGenerate(@TempDir Path tmp) throws Exception {
        Path in = tmp.resolve("in.jsonl");
        Files.writeString(in, "{\"text\": \"Once upon a time, there was a little girl named Lily.\"}\n");
        double base = score(in, null);
        double zero = score(in, storiesAdapter(tmp.resolve("zero"), true));
        double trained = score(in, storiesAdapter(tmp.resolve("rand"), false));
        assertEquals(base, zero, 0.0, "a LoRA adapter with B = 0 changes nothing");
        assertNotEquals(base, trained);
        ModelCommandsTest.Run g = cli(
                "generate",
                "--model",
                STORIES,
                "--quant",
                "none",
                "--adapter",
                tmp.resolve("rand").toString(),
                "--max-new-tokens",
                "8",
                "--json");
        assertEquals(ExitCodes.OK, g.code(), g.err());
        // an adapter for another model (the 2-layer fixture) is an error naming a tensor, not a silent no-op
        ModelCommandsTest.Run bad = cli(
                "score",
                "--model",
                STORIES,
                "--quant",
                "none",
                "--input",
                in.toString(),
                "--adapter",
                FIXTURE.resolve("adapter").toString());
        assertEquals(ExitCodes.BAD_INPUT, bad.code(), bad.err());
        assertTrue(bad.err().contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"), bad.err());
    }

    static double score(Path in, Path adapter) throws Exception {
        ModelCommandsTest.Run r = adapter == null
                ? cli("score", "--model", STORIES, "--quant", "none", "--input", in.toString(), "--json")
                : cli(
                        "score",
                        "--model",
                        STORIES,
                        "--quant",
                        "none",
                        "--input",
                        in.toString(),
                        "--adapter",
                        adapter.toString(),
                        "--json");
        assertEquals(ExitCodes.OK, r.code(), r.err());
        return JSON.readTree(r.out()).get("mean_nll").asDouble();
    }
}
