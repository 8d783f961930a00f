package io.lakelora.jobs.runtime;

import io.lakelora.train.TrainableModel;
import java.io.Serializable;

/**
 * How an executor builds its frozen base + LoRA model. Shipped to executors in task closures (small: paths and
 * settings, never weights). The heavy frozen base is loaded once per executor JVM through {@link ExecutorModelCache}
 * straight from the lake (never broadcast from the driver) and shared read-only by all tasks; each concurrently running
 * task gets its own light {@link TrainableModel} (activation buffers) bound to that shared base.
 *
 * @param <B> the type of the loaded base (e.g. {@code LlamaWeights}); it stays on the executor and is never shipped,
 *     so it need not be serializable
 */
public interface ModelFactory<B> extends Serializable {

    /**
     * Identifies the base in the JVM-wide cache: same key (and device), same loaded base, so factories of different
     * base types must not share a key.
     */
    String cacheKey();

    /**
     * The base's identity without its version (e.g. the model URI and quantization, where {@link #cacheKey()} adds a
     * fingerprint of the files): when a key of the same group is loaded, the cache drops the older bases of that
     * group. Default: the key itself.
     */
    default String cacheGroup() {
        return cacheKey();
    }

    /**
     * Loads the frozen base (weights, tokenizer facts). {@code deviceAddresses} are the accelerator addresses Spark
     * assigned to the task (TaskContext resources, e.g. GPU "0"); the CPU backend ignores them. The cache loads one
     * base per key and device ({@link ExecutorModelCache#device}).
     */
    B loadBase(String[] deviceAddresses);

    /** A model (own activation buffers) over the shared base; called once per concurrently running task thread. */
    TrainableModel newModel(B base);

    /**
     * What the models {@link #newModel} builds over one base differ by (the LoRA rank, scaling, dropout, targets, kernel
     * threads, recomputation): the cache pools models per base and model key, so a job with another LoRA config on
     * the same base (job 03 at r=8, then job 05 scoring an r=16 adapter, on one long-lived executor) never gets a model
     * built for the other. Default: one kind of model per base.
     */
    default String modelKey() {
        return "";
    }
}
