package io.lakelora.jobs.serve;

import io.lakelora.jobs.registry.AdapterRecord;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.LoraConfig;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.ModelConfig;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.quant.Quantizer;
import io.lakelora.util.Assets;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * Test fixtures for the serving side (export, evaluate, UDFs): a real PEFT adapter for the stories260K asset (LoRA
 * r=4, alpha=8 on q/v/up/down_proj, Gaussian values of std {@code scale}, so it visibly changes the model) and the
 * registry record holding its bytes.
 */
public final class ServeFixtures {
    /** sha256 of stories260K-hf/model.safetensors, from {@code sha256sum} on the asset file. */
    public static final String STORIES_SHA256 = "0fd630cf3521b13c0e223fc19326b8a1bb3dd1100418bc9b90f1b89eede6e495";

    public static final List<String> TARGETS = List.of("q_proj", "v_proj", "up_proj", "down_proj");

    private ServeFixtures() {}

    public static Path model() {
        return Assets.require("models/stories260K-hf");
    }

    public static ModelConfig modelConfig() {
        return LlamaLoader.config(model());
    }

    /** The stories260K base with NF4 + double quantization (QLoRA's recipe), as the jobs load it. */
    public static LlamaWeights nf4Base() {
        return LlamaLoader.load(model(), Quantizer.qlora()::quantize);
    }

    public static LoraConfig loraConfig() {
        return LoraConfig.of(4, 8, TARGETS);
    }

    /** The parameter slab of the fixture adapter for {@code seed}. */
    public static float[] params(long seed, double scale) {
        AdapterLayout layout = PeftAdapter.layoutFor(modelConfig(), loraConfig());
        float[] p = new float[layout.size()];
        Random r = new Random(seed);
        for (int i = 0; i < p.length; i++) p[i] = (float) (r.nextGaussian() * scale);
        return p;
    }

    /** Writes the fixture adapter as a PEFT directory and returns it. */
    public static Path writeAdapter(Path dir, long seed) {
        LoraConfig cfg = loraConfig();
        PeftAdapter.save(dir, cfg, PeftAdapter.layoutFor(modelConfig(), cfg), params(seed, 0.1), "stories260K");
        return dir;
    }

    /** A registry record holding the PEFT files in {@code peftDir}, as job 03 would register them. */
    public static AdapterRecord record(
            String name,
            String runId,
            Path peftDir,
            String datasetTable,
            long datasetVersion,
            String baseSha256,
            String peftPath)
            throws IOException {
        byte[] weights = Files.readAllBytes(peftDir.resolve(PeftAdapter.WEIGHTS_FILE));
        String config = Files.readString(peftDir.resolve(PeftAdapter.CONFIG_FILE));
        return new AdapterRecord(
                name,
                runId,
                "stories260K",
                baseSha256,
                datasetTable,
                datasetVersion,
                "{\"lora\":{\"r\":4,\"lora_alpha\":8},\"train\":{\"steps\":10}}",
                4,
                8.0,
                TARGETS,
                2.5,
                2.4,
                5120L,
                10L,
                12.5,
                weights,
                config,
                peftPath);
    }
}
