package io.lakelora.lora;

/**
 * Access to the frozen base weights that PiSSA and LoftQ initialisation read and rewrite. The model implements it on
 * its own weight storage. Weights are PyTorch linear layout [out, in], row-major fp32.
 */
public interface BaseWeightAccess {

    /**
     * The weight of {@code module} in {@code layer} in fp32: the original weights when the model still holds them,
     * otherwise the de-quantization of the stored 4-bit weight. A fresh array the caller may modify.
     */
    float[] dequantized(int layer, TargetModule module);

    /**
     * Replaces the frozen weight with {@code newWeight} ([out, in] row-major fp32). A 4-bit model (re)quantizes it in
     * its own format; after this call {@link #dequantized} returns what the model computes with.
     */
    void replace(int layer, TargetModule module, float[] newWeight);
}
