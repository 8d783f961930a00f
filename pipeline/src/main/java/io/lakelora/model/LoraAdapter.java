package io.lakelora.model;

import io.lakelora.lora.AdapterLayout;

/**
 * LoRA weights for inference: the spec, the slab layout and the parameter slab (A and B of every targeted module).
 * Read from PEFT files by {@code peft.PeftAdapter.loadForInference}.
 *
 * @param params (layout.size()) read by the model, never written
 */
public record LoraAdapter(LoraSpec spec, AdapterLayout layout, float[] params) {
    public LoraAdapter {
        if (layout.rank() != spec.r() || !layout.targets().equals(spec.targets())) {
            throw new IllegalArgumentException("adapter layout (r=" + layout.rank() + ", targets=" + layout.targets()
                    + ") does not match its spec (r=" + spec.r() + ", targets=" + spec.targets() + ")");
        }
        if (params.length != layout.size()) {
            throw new IllegalArgumentException(
                    "adapter slab has " + params.length + " floats, layout needs " + layout.size());
        }
    }

    /** Checks that the adapter fits a model of shape {@code a} (same layers and widths). */
    public void checkFits(ModelConfig a) {
        if (layout.numLayers() != a.numLayers()) {
            throw new IllegalArgumentException("the LoRA adapter has " + layout.numLayers() + " layers, the model has "
                    + a.numLayers() + ". Fix: use an adapter trained for this base model");
        }
        AdapterLayout expected = spec.layout(a);
        for (int i = 0; i < expected.tensors().size(); i++) {
            AdapterLayout.Tensor want = expected.tensors().get(i);
            AdapterLayout.Tensor got = layout.tensors().get(i);
            if (want.rows() != got.rows() || want.cols() != got.cols()) {
                throw new IllegalArgumentException("LoRA tensor " + got.peftKey() + " is [" + got.rows() + ", "
                        + got.cols() + "], this model needs [" + want.rows() + ", " + want.cols()
                        + "]. Fix: use an adapter trained for this base model");
            }
        }
    }
}
