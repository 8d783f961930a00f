package io.lakelora.jobs.serve;

import io.lakelora.quant.QuantType;
import java.io.Serializable;

/**
 * What a serving call runs on, as URIs only (this is what UDF closures carry to executors): the base model directory,
 * how to hold its linear weights, the PEFT adapter directory (null: the base alone) and kernel threads per call.
 *
 * @param modelUri   base model directory (lake URI or absolute file: URI), fp32/bf16 or quantized by job 00
 * @param quant      nf4, fp4, int8 or none; a pre-quantized model is used as stored and must say the same
 * @param adapterUri PEFT adapter directory (lake URI or file: URI), or null for the base model
 * @param threads    kernel threads per call (match {@code spark.task.cpus})
 */
public record ServeTarget(String modelUri, String quant, String adapterUri, int threads) implements Serializable {
    public ServeTarget {
        if (modelUri == null || modelUri.isBlank()) throw new IllegalArgumentException("no base model URI given");
        QuantType.parse(quant);
        if (threads < 1) throw new IllegalArgumentException("serving threads must be >= 1, got " + threads);
    }

    /** The same base without the adapter. */
    public ServeTarget base() {
        return new ServeTarget(modelUri, quant, null, threads);
    }

    String baseKey() {
        return modelUri + "|" + quant.toLowerCase(java.util.Locale.ROOT);
    }

    String key() {
        return baseKey() + "|" + adapterUri + "|" + threads;
    }
}
