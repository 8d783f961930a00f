package io.lakelora.train;

import io.lakelora.lora.AdapterLayout;

/**
 * A frozen base model with LoRA adapters whose parameters live in one flat slab ({@link AdapterLayout}). This is the
 * contract between the model (forward/backward) and everything that trains: the local trainer, and the Spark job that
 * runs it on every executor and sums gradients.
 */
public interface TrainableModel {

    AdapterLayout layout();

    /**
     * Forward and backward on one micro-batch. ACCUMULATES (+=) d(sum of token losses)/d(params) into {@code grads}
     * (same layout as params); no gradient is computed for the frozen base. Dropout (if configured) draws from
     * {@code dropoutSeed} deterministically; pass the same seed for the same result.
     */
    LossSum forwardBackward(float[] params, float[] grads, Batch batch, long dropoutSeed);

    /** Forward only, dropout off: the loss sum and token count. */
    LossSum evaluate(float[] params, Batch batch);
}
