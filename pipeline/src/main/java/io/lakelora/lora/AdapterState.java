package io.lakelora.lora;

import java.util.Arrays;

/**
 * What a LoRA adapter trains, as two slabs of identical {@link AdapterLayout} (llm.c's ParameterTensors): parameters
 * and gradients, plus the number of optimizer steps taken. Averaging gradients is one array sum. The optimizer's own
 * state (AdamW's moments, or 8-bit ones) is declared by the optimizer and kept beside this ({@code train.Optimizer}).
 */
public final class AdapterState {
    private final AdapterLayout layout;
    private final float[] params;
    private final float[] grads;
    private long step;

    /** All slabs zero, step 0. Initialise the parameters with {@link LoraInit}. */
    public AdapterState(AdapterLayout layout) {
        this.layout = layout;
        int n = layout.size();
        this.params = new float[n];
        this.grads = new float[n];
    }

    public AdapterLayout layout() {
        return layout;
    }

    /** The parameter slab (live, not a copy). */
    public float[] params() {
        return params;
    }

    /** The gradient slab (live): the model accumulates into it, the optimizer consumes and zeroes it. */
    public float[] grads() {
        return grads;
    }

    /** Optimizer steps taken so far (the next update is step + 1). */
    public long step() {
        return step;
    }

    public void setStep(long step) {
        if (step < 0) throw new IllegalArgumentException("step must be >= 0, got " + step);
        this.step = step;
    }

    public void zeroGrads() {
        Arrays.fill(grads, 0f);
    }

    /** A copy of one tensor of {@code slab} (row-major, {@code t.rows() x t.cols()}). */
    public static float[] copyOf(float[] slab, AdapterLayout.Tensor t) {
        return Arrays.copyOfRange(slab, t.offset(), t.offset() + t.size());
    }

    /** Writes {@code values} (row-major, exactly {@code t.size()} floats) into tensor {@code t} of {@code slab}. */
    public static void set(float[] slab, AdapterLayout.Tensor t, float[] values) {
        if (values.length != t.size()) {
            throw new IllegalArgumentException(t.peftKey() + ": expected " + t.rows() + "x" + t.cols() + " = "
                    + t.size() + " values, got " + values.length);
        }
        System.arraycopy(values, 0, slab, t.offset(), values.length);
    }
}
