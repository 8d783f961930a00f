package io.lakelora.jobs.registry;

import java.util.List;

/**
 * What a training run hands to the registry: lineage, resolved config, LoRA settings, metrics and the adapter weights
 * (the bytes of a PEFT {@code adapter_model.safetensors}). The registry assigns the version.
 */
public record AdapterRecord(
        String adapterName,
        String runId,
        String baseModelId,
        String baseModelSha256,
        String datasetTable,
        long datasetVersion,
        String configJson,
        int loraR,
        double loraAlpha,
        List<String> targetModules,
        double trainLoss,
        double evalLoss,
        long tokens,
        long steps,
        double wallSeconds,
        byte[] adapterSafetensors,
        String adapterConfigJson,
        String peftPath) {

    public double perplexity() {
        return Double.isNaN(evalLoss) ? Double.NaN : Math.exp(evalLoss);
    }
}
