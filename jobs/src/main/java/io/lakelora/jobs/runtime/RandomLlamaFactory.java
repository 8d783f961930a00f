package io.lakelora.jobs.runtime;

import io.lakelora.kernel.KernelProvider;
import io.lakelora.lora.LoraConfig;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.LoraModelBuilder;
import io.lakelora.model.LoraSpec;
import io.lakelora.model.ModelConfig;
import io.lakelora.quant.QuantType;
import io.lakelora.train.TrainableModel;
import java.util.List;

/** A LLaMA-shaped model with seeded random weights (NF4+DQ or fp32), for benchmarks: same bases on every executor. */
public final class RandomLlamaFactory implements ModelFactory<LlamaWeights> {
    private static final long serialVersionUID = 2L;
    private final String configJson;
    private final long seed;
    private final LoraModelBuilder.Spec spec;

    /** All-linear LoRA of rank {@code r} (alpha 2r) over an NF4+DQ (or fp32) random base. */
    public RandomLlamaFactory(ModelConfig cfg, long seed, boolean nf4, int r, int threadsPerTask) {
        this.configJson = cfg.toJson();
        this.seed = seed;
        this.spec = new LoraModelBuilder.Spec(
                nf4 ? QuantType.NF4 : QuantType.NONE,
                true,
                LoraConfig.of(r, 2.0 * r, List.of("all-linear")),
                threadsPerTask,
                false);
    }

    public ModelConfig config() {
        return ModelConfig.fromJson(configJson, "bench config");
    }

    public LoraSpec spec() {
        return spec.loraSpec();
    }

    @Override
    public String cacheKey() {
        return "random:" + seed + ":" + spec.quant().id() + ":" + configJson.hashCode();
    }

    @Override
    public LlamaWeights loadBase(String[] deviceAddresses) {
        LlamaWeights w = LlamaWeights.random(config(), seed, 0.02f, spec.quantizer());
        KernelProvider.warmUp(KernelProvider.withThreads(Math.max(1, spec.threads())));
        return w;
    }

    @Override
    public String modelKey() {
        return spec.loraSpec() + "|threads=" + spec.threads();
    }

    @Override
    public TrainableModel newModel(LlamaWeights base) {
        return LoraModelBuilder.newModel(base, spec);
    }
}
