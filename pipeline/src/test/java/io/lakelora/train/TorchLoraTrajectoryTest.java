package io.lakelora.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.lora.AdapterState;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.LoraLlama;
import io.lakelora.model.LoraSpec;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.safetensors.SafetensorsFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The whole training step (LoraLlama forward/backward + {@link Optimizer}: sum / tokens, AdamW) against PyTorch: the
 * 10-step AdamW loss trajectory of the lora_parity fixtures (gen_lora_parity.py: torch.optim.AdamW lr 1e-2, wd 0.01,
 * the same batch every step, loss before each step), starting from the PEFT adapter the script wrote.
 */
class TorchLoraTrajectoryTest {

    private static int[][] ints(SafetensorsFile f, String k) {
        long[] shape = f.info(k).shape();
        ByteBuffer b = ByteBuffer.wrap(f.readBytes(k)).order(ByteOrder.LITTLE_ENDIAN);
        int[][] out = new int[(int) shape[0]][(int) shape[1]];
        for (int[] row : out) for (int t = 0; t < row.length; t++) row[t] = b.getInt();
        return out;
    }

    @Test
    void tenAdamWStepsFollowTorchsLossTrajectory() throws Exception {
        for (String name : List.of("llama_gqa", "qwen2_tied_packed", "qwen3_tied_packed", "gemma3_sliding")) {
            Path fx = Path.of(System.getProperty("lakelora.root", ".."))
                    .resolve("pipeline/src/test/resources/fixtures/lora_parity")
                    .resolve(name);
            if (!Files.isDirectory(fx)) throw new IllegalStateException("fixture missing: " + fx);
            JsonNode exp =
                    new ObjectMapper().readTree(fx.resolve("expected.json").toFile());
            JsonNode adam = exp.get("adamw");
            PeftAdapter.Loaded a = PeftAdapter.load(fx.resolve("adapter"), LlamaLoader.config(fx));
            LoraSpec spec = LoraSpec.of(
                    a.config().r(),
                    a.config().loraAlpha(),
                    a.config().useRslora(),
                    0,
                    a.config().targets());
            LoraLlama model = new LoraLlama(LlamaLoader.load(fx, null), spec, KernelProvider.get(), false);
            Batch batch;
            try (SafetensorsFile f = SafetensorsFile.open(fx.resolve("expected.safetensors"))) {
                batch = new Batch(ints(f, "input_ids"), ints(f, "labels"), ints(f, "position_ids"));
            }
            AdapterState s = new AdapterState(model.layout());
            System.arraycopy(a.params(), 0, s.params(), 0, a.params().length);
            OptimizerConfig oc = new OptimizerConfig(
                    adam.get("lr").asDouble(),
                    List.of(
                            adam.get("betas").get(0).asDouble(),
                            adam.get("betas").get(1).asDouble()),
                    adam.get("eps").asDouble(),
                    adam.get("weight_decay").asDouble(),
                    0.0);
            OptimizerStep opt = new OptimizerStep(oc, new LrSchedule(LrSchedule.Type.CONSTANT, oc.lr(), 0, 10));
            OptimizerState os = opt.newState(s);
            JsonNode traj = exp.get("adamw_loss_trajectory");
            StringBuilder sb = new StringBuilder();
            for (int k = 0; k < traj.size(); k++) {
                LossSum l = model.forwardBackward(s.params(), s.grads(), batch, 0);
                double expected = traj.get(k).asDouble();
                sb.append(String.format(" %.5f/%.5f", l.mean(), expected));
                assertEquals(expected, l.mean(), 1e-4 * expected, name + " loss before step " + (k + 1));
                opt.step(s, os, l.tokens());
            }
            System.out.println("AdamW loss trajectory " + name + " (ours/torch):" + sb);
        }
    }
}
