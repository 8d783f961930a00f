package io.lakelora.jobs.runtime;

import io.lakelora.kernel.KernelProvider;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.LoraLlama;
import io.lakelora.model.LoraSpec;
import io.lakelora.model.ModelConfig;
import io.lakelora.quant.Quantizer;
import io.lakelora.train.TrainableModel;
import java.util.Set;

/** A LLaMA-shaped model with seeded random weights (NF4+DQ or fp32), for benchmarks: same bases on every executor. */
public final class RandomLlamaFactory implements ModelFactory<LlamaWeights> {
    private static final long serialVersionUID = 1L;
    private final String configJson;
    private final long seed;
    private final boolean nf4;
    private final int r;
    private final int threadsPerTask;

    public RandomLlamaFactory(ModelConfig cfg, long seed, boolean nf4, int r, int threadsPerTask) {
        this.configJson = cfg.toJson();
        this.seed = seed;
        this.nf4 = nf4;
        this.r = r;
        this.threadsPerTask = threadsPerTask;
    }

    public ModelConfig config() {
        return ModelConfig.fromJson(configJson, "bench config");
    }

    public LoraSpec spec() {
        return LoraSpec.of(r, 2.0 * r, false, 0, Set.of(TargetModule.values()));
    }

    @Override
    public String cacheKey() {
        return "random:" + seed + ":" + nf4 + ":" + configJson.hashCode();
    }

    @Override
    public LlamaWeights loadBase(String[] deviceAddresses) {
        LlamaWeights w = LlamaWeights.random(config(), seed, 0.02f, nf4 ? Quantizer.qlora()::quantize : null);
        KernelProvider.warmUp(KernelProvider.withThreads(threadsPerTask));
        return w;
    }

    @Override
    public TrainableModel newModel(LlamaWeights base) {
        return new LoraLlama(base, spec(), KernelProvider.withThreads(threadsPerTask), false);
    }
}
