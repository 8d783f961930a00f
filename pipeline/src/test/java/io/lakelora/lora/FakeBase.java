package io.lakelora.lora;

import java.util.HashMap;
import java.util.Map;

/** Test base weights: fp32 arrays per (layer, module); with {@code nf4} on, replace() stores deq(NF4(w)). */
final class FakeBase implements BaseWeightAccess {
    final Map<String, float[]> weights = new HashMap<>();
    private static final QuantRoundTrip NF4 = QuantRoundTrip.nf4();
    private final boolean nf4;
    private final int rows;
    private final int cols;

    FakeBase(boolean nf4, int rows, int cols) {
        this.nf4 = nf4;
        this.rows = rows;
        this.cols = cols;
    }

    void put(int layer, TargetModule m, float[] w) {
        weights.put(layer + "." + m, w.clone());
    }

    @Override
    public float[] dequantized(int layer, TargetModule m) {
        float[] w = weights.get(layer + "." + m);
        if (w == null) throw new IllegalStateException("no weight " + layer + "." + m);
        return w.clone();
    }

    @Override
    public void replace(int layer, TargetModule m, float[] w) {
        weights.put(layer + "." + m, nf4 ? NF4.apply(w, rows, cols) : w.clone());
    }
}
