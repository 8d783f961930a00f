package io.lakelora.model;

import io.lakelora.model.nn.FrozenLinear;

/**
 * The frozen base model as {@link LoraLlama} reads it during a pass: the token embedding rows, the decoder layers from
 * a {@link LayerSource}, the final norm and the output head. {@link LlamaWeights} holds all of it in memory;
 * {@link StreamedBase} reads the layers from disk while it trains (a base larger than memory).
 */
public interface FrozenBase {
    ModelConfig arch();

    /** Copies the embedding row (C) of token {@code id} into {@code dst[off, off + C)}. */
    void embeddingRow(int id, float[] dst, int off);

    /** Where the decoder layers come from, one pass at a time. */
    LayerSource layerSource();

    /** (C) final norm weight; do not modify. */
    float[] finalNorm();

    /** The output head (V, C). */
    FrozenLinear lmHead();
}
