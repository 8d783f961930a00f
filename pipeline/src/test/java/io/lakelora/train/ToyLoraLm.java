package io.lakelora.train;

import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.TargetModule;
import io.lakelora.util.Rng;
import java.util.EnumSet;

/**
 * A tiny LoRA language model for trainer tests (until the real model is wired): a bigram model
 * {@code logits_t = U (W0 + s B A) drop(E[x_t])}, frozen random E [V, C], W0 [C, C], U [V, C], with the adapter on one
 * q_proj-shaped [C, C] linear. Forward and backward in double, gradients accumulated into the fp32 slab.
 */
public final class ToyLoraLm implements TrainableModel {
    private final int v;
    private final int c;
    private final double scaling;
    private final double dropout;
    private final AdapterLayout layout;
    private final double[] e;
    private final double[] w0;
    private final double[] u;

    public ToyLoraLm(int vocab, int hidden, int r, double scaling, double dropout, long seed) {
        this.v = vocab;
        this.c = hidden;
        this.scaling = scaling;
        this.dropout = dropout;
        this.layout = new AdapterLayout(1, hidden, hidden, hidden, hidden, r, EnumSet.of(TargetModule.Q));
        Rng rng = new Rng(seed);
        e = gauss(rng, vocab * hidden, 1.0);
        w0 = gauss(rng, hidden * hidden, 1.0 / Math.sqrt(hidden));
        u = gauss(rng, vocab * hidden, 1.0 / Math.sqrt(hidden));
    }

    private static double[] gauss(Rng rng, int n, double std) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) a[i] = std * rng.nextGaussian();
        return a;
    }

    @Override
    public AdapterLayout layout() {
        return layout;
    }

    @Override
    public LossSum forwardBackward(float[] params, float[] grads, Batch batch, long dropoutSeed) {
        return run(params, grads, batch, dropout > 0 ? new Rng(dropoutSeed) : null);
    }

    @Override
    public LossSum evaluate(float[] params, Batch batch) {
        return run(params, null, batch, null);
    }

    private LossSum run(float[] p, float[] g, Batch batch, Rng drop) {
        AdapterLayout.Tensor ta = layout.find(0, TargetModule.Q, true);
        AdapterLayout.Tensor tb = layout.find(0, TargetModule.Q, false);
        int r = layout.rank();
        double loss = 0;
        long tokens = 0;
        double[] x = new double[c];
        double[] ax = new double[r];
        double[] h = new double[c];
        double[] logits = new double[v];
        double[] dh = new double[c];
        double[] btdh = new double[r];
        for (int b = 0; b < batch.batchSize(); b++) {
            int[] ids = batch.inputIds()[b];
            int[] labels = batch.labels()[b];
            for (int t = 0; t + 1 < ids.length; t++) {
                int target = labels[t + 1];
                int tok = ids[t];
                for (int j = 0; j < c; j++) {
                    double keep = 1;
                    if (drop != null) keep = drop.nextDouble() < dropout ? 0 : 1 / (1 - dropout);
                    x[j] = e[tok * c + j] * keep;
                }
                if (target == Batch.IGNORE_INDEX) continue;
                for (int k = 0; k < r; k++) {
                    double s = 0;
                    for (int j = 0; j < c; j++) s += p[ta.offset() + k * c + j] * x[j];
                    ax[k] = s;
                }
                for (int i = 0; i < c; i++) {
                    double s = 0;
                    for (int j = 0; j < c; j++) s += w0[i * c + j] * e[tok * c + j];
                    double lo = 0;
                    for (int k = 0; k < r; k++) lo += p[tb.offset() + i * r + k] * ax[k];
                    h[i] = s + scaling * lo;
                }
                double max = Double.NEGATIVE_INFINITY;
                for (int o = 0; o < v; o++) {
                    double s = 0;
                    for (int i = 0; i < c; i++) s += u[o * c + i] * h[i];
                    logits[o] = s;
                    max = Math.max(max, s);
                }
                double z = 0;
                for (int o = 0; o < v; o++) z += Math.exp(logits[o] - max);
                loss += Math.log(z) + max - logits[target];
                tokens++;
                if (g == null) continue;
                // dlogits = softmax - onehot; dh = U^T dlogits
                java.util.Arrays.fill(dh, 0);
                for (int o = 0; o < v; o++) {
                    double d = Math.exp(logits[o] - max) / z - (o == target ? 1 : 0);
                    for (int i = 0; i < c; i++) dh[i] += u[o * c + i] * d;
                }
                // h = ... + s * B (A x): dB[i][k] += s dh[i] ax[k]; dA[k][j] += s (B^T dh)[k] x[j]
                for (int k = 0; k < r; k++) {
                    double s = 0;
                    for (int i = 0; i < c; i++) s += p[tb.offset() + i * r + k] * dh[i];
                    btdh[k] = s;
                }
                for (int i = 0; i < c; i++) {
                    for (int k = 0; k < r; k++) g[tb.offset() + i * r + k] += (float) (scaling * dh[i] * ax[k]);
                }
                for (int k = 0; k < r; k++) {
                    for (int j = 0; j < c; j++) g[ta.offset() + k * c + j] += (float) (scaling * btdh[k] * x[j]);
                }
            }
        }
        return new LossSum(loss, tokens);
    }
}
