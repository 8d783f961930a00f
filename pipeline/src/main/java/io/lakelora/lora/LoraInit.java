package io.lakelora.lora;

import io.lakelora.util.Rng;
import java.util.ArrayList;
import java.util.List;

/**
 * Initialises an adapter's parameter slab as PEFT does ({@code LoraLayer.update_layer}), deterministically from a seed:
 * every tensor draws from its own stream {@code Rng.derive(seed, peftKey)}, so the values of a tensor do not depend on
 * which other modules are targeted.
 *
 * <ul>
 *   <li>{@code true}: A ~ U(-bound, bound) with torch's {@code kaiming_uniform_(a=sqrt(5))} bound
 *       {@code sqrt(3) * sqrt(2 / (1 + a^2)) / sqrt(fan_in)} (= 1/sqrt(in)), B = 0.</li>
 *   <li>{@code false}: A and B both keep nn.Linear's default init (the same kaiming bound with their own fan-in).</li>
 *   <li>{@code gaussian}: A ~ N(0, (1/r)^2), B = 0.</li>
 *   <li>{@code pissa} / {@code pissa_niter_N} ({@code pissa_init}): W = U S V^T, S_r' = S_r / scaling,
 *       A = diag(sqrt(S_r')) V_r^T, B = U_r diag(sqrt(S_r')), base := W - scaling * B A (re-quantized by the model
 *       when its base is 4-bit).</li>
 *   <li>{@code loftq} ({@code loftq_init}): res = W; repeat {@code loftq_iter} times: Q = quant(res),
 *       L R = rank-r SVD of (W - deq(Q)), res = W - L R; base := deq(Q). PEFT assigns A = R, B = L, which is exact only
 *       for scaling == 1; here A = R / sqrt(scaling), B = L / sqrt(scaling), so that deq(Q) + scaling * B A = deq(Q) + L R
 *       for every lora_alpha (identical to PEFT when scaling == 1).</li>
 * </ul>
 */
public final class LoraInit {
    /** Exact (Jacobi) SVD up to this min(out, in); larger LoftQ weights use the randomized low-rank SVD. */
    static final int EXACT_SVD_LIMIT = 1024;

    private LoraInit() {}

    /**
     * Initialisation error of one base weight W, relative Frobenius norms: {@code plain} = |W - deq(quant(W))| / |W|
     * (NaN without a quantizer), {@code init} = |W - (base after init + scaling B A)| / |W|.
     */
    public record ModuleError(String module, double plain, double init) {}

    /** Errors for the modules whose base weight the init rewrote (empty for the random inits). */
    public record Report(List<ModuleError> modules) {
        public double meanPlain() {
            return modules.stream().mapToDouble(ModuleError::plain).average().orElse(Double.NaN);
        }

        public double meanInit() {
            return modules.stream().mapToDouble(ModuleError::init).average().orElse(Double.NaN);
        }
    }

    /**
     * Fills {@code state.params()} as {@code cfg.init_lora_weights} says.
     *
     * @param base  needed for pissa and loftq (they read and rewrite base weights); may be null otherwise
     * @param quant the NF4 round trip: required for loftq; when given for pissa, the report includes the plain-NF4 error
     */
    public static Report initialize(
            AdapterState state, LoraConfig cfg, long seed, BaseWeightAccess base, QuantRoundTrip quant) {
        AdapterLayout layout = state.layout();
        if (layout.rank() != cfg.r()) {
            throw new IllegalArgumentException(
                    "adapter layout has rank " + layout.rank() + " but the LoRA config says r=" + cfg.r());
        }
        if (!layout.targets().equals(cfg.targets())) {
            throw new IllegalArgumentException("adapter layout targets " + layout.targets() + " but the LoRA config "
                    + "targets " + cfg.targets());
        }
        LoraConfig.InitKind kind = cfg.initKind();
        boolean rewritesBase = kind.rewritesBase();
        if (rewritesBase && base == null) {
            throw new IllegalArgumentException("init_lora_weights '" + cfg.initLoraWeights()
                    + "' needs the base weights " + "(it decomposes them), but no BaseWeightAccess was given");
        }
        if (kind == LoraConfig.InitKind.LOFTQ && quant == null) {
            throw new IllegalArgumentException("init_lora_weights 'loftq' needs an NF4 quantizer round trip");
        }
        float[] p = state.params();
        List<ModuleError> errors = new ArrayList<>();
        for (int l = 0; l < layout.numLayers(); l++) {
            for (TargetModule m : layout.targets()) {
                AdapterLayout.Tensor a = layout.find(l, m, true);
                AdapterLayout.Tensor b = layout.find(l, m, false);
                switch (kind) {
                    case KAIMING -> {
                        kaimingUniform(p, a, Rng.derive(seed, a.peftKey()));
                        zero(p, b);
                    }
                    case LINEAR_DEFAULT -> {
                        kaimingUniform(p, a, Rng.derive(seed, a.peftKey()));
                        kaimingUniform(p, b, Rng.derive(seed, b.peftKey()));
                    }
                    case GAUSSIAN -> {
                        Rng rng = Rng.derive(seed, a.peftKey());
                        double std = 1.0 / cfg.r();
                        for (int i = 0; i < a.size(); i++) p[a.offset() + i] = (float) (std * rng.nextGaussian());
                        zero(p, b);
                    }
                    case PISSA, PISSA_NITER -> errors.add(pissa(p, a, b, cfg, seed, l, m, base, quant));
                    case LOFTQ -> errors.add(loftq(p, a, b, cfg, l, m, base, quant));
                }
            }
        }
        return new Report(List.copyOf(errors));
    }

    /** torch.nn.init.kaiming_uniform_(t, a=sqrt(5)) with fan_in = t.cols(), as torch computes the bound (double). */
    static double kaimingBound(int fanIn) {
        double a = Math.sqrt(5.0);
        double gain = Math.sqrt(2.0 / (1 + a * a));
        double std = gain / Math.sqrt(fanIn);
        return Math.sqrt(3.0) * std;
    }

    private static void kaimingUniform(float[] p, AdapterLayout.Tensor t, Rng rng) {
        double bound = kaimingBound(t.cols());
        for (int i = 0; i < t.size(); i++) p[t.offset() + i] = (float) (-bound + 2 * bound * rng.nextDouble());
    }

    private static void zero(float[] p, AdapterLayout.Tensor t) {
        java.util.Arrays.fill(p, t.offset(), t.offset() + t.size(), 0f);
    }

    private static ModuleError pissa(
            float[] p,
            AdapterLayout.Tensor a,
            AdapterLayout.Tensor b,
            LoraConfig cfg,
            long seed,
            int layer,
            TargetModule m,
            BaseWeightAccess base,
            QuantRoundTrip quant) {
        int out = b.rows();
        int in = a.cols();
        int r = cfg.r();
        float[] w = checkedWeight(base, layer, m, out, in);
        if (r > Math.min(out, in)) {
            throw new IllegalArgumentException(
                    "init_lora_weights '" + cfg.initLoraWeights() + "' needs r <= min(out, in) "
                            + "of every target, but " + m.modulePath(layer) + " is " + out + "x" + in + " and r=" + r
                            + ". Fix: lower r");
        }
        double[] wd = toDouble(w);
        Svd.Result svd = cfg.initKind() == LoraConfig.InitKind.PISSA
                ? Svd.thin(wd, out, in)
                : Svd.lowRank(wd, out, in, r, cfg.pissaNiter(), Rng.derive(seed, m.modulePath(layer) + ".svd_lowrank"));
        double scaling = cfg.scaling();
        for (int t = 0; t < r; t++) {
            double sq = Math.sqrt(svd.s()[t] / scaling);
            for (int j = 0; j < in; j++) p[a.offset() + t * in + j] = (float) (sq * svd.vt()[t * in + j]);
            for (int i = 0; i < out; i++) p[b.offset() + i * r + t] = (float) (svd.u()[i * svd.k() + t] * sq);
        }
        float[] residual = minusScaledBA(w, p, a, b, scaling);
        double plain = quant == null ? Double.NaN : relError(w, quant.apply(w, out, in), p, a, b, 0);
        base.replace(layer, m, residual);
        double init = relError(w, base.dequantized(layer, m), p, a, b, scaling);
        return new ModuleError(m.modulePath(layer), plain, init);
    }

    private static ModuleError loftq(
            float[] p,
            AdapterLayout.Tensor a,
            AdapterLayout.Tensor b,
            LoraConfig cfg,
            int layer,
            TargetModule m,
            BaseWeightAccess base,
            QuantRoundTrip quant) {
        int out = b.rows();
        int in = a.cols();
        int r = cfg.r();
        if (r > Math.min(out, in)) {
            throw new IllegalArgumentException("init_lora_weights 'loftq' needs r <= min(out, in) of every target, but "
                    + m.modulePath(layer) + " is " + out + "x" + in + " and r=" + r + ". Fix: lower r");
        }
        float[] w = checkedWeight(base, layer, m, out, in);
        float[] res = w.clone();
        float[] deq = null;
        double plain = Double.NaN;
        double[] left = null; // L = U_r sqrt(S_r)  [out, r]
        double[] right = null; // R = sqrt(S_r) Vt_r [r, in]
        for (int it = 0; it < cfg.loftqIter(); it++) {
            deq = quant.apply(res, out, in);
            if (it == 0) plain = relError(w, deq, p, a, b, 0);
            double[] diff = new double[w.length];
            for (int i = 0; i < w.length; i++) diff[i] = (double) w[i] - deq[i];
            Svd.Result svd = Math.min(out, in) <= EXACT_SVD_LIMIT
                    ? Svd.thin(diff, out, in)
                    : Svd.lowRank(
                            diff,
                            out,
                            in,
                            Math.min(Math.min(out, in), r + 16),
                            4,
                            Rng.derive(r, m.modulePath(layer) + ".loftq." + it));
            left = new double[out * r];
            right = new double[r * in];
            for (int t = 0; t < r; t++) {
                double sq = Math.sqrt(svd.s()[t]);
                for (int i = 0; i < out; i++) left[i * r + t] = svd.u()[i * svd.k() + t] * sq;
                for (int j = 0; j < in; j++) right[t * in + j] = sq * svd.vt()[t * in + j];
            }
            for (int i = 0; i < out; i++) {
                for (int j = 0; j < in; j++) {
                    double lr = 0;
                    for (int t = 0; t < r; t++) lr += left[i * r + t] * right[t * in + j];
                    res[i * in + j] = (float) (w[i * in + j] - lr);
                }
            }
        }
        double inv = 1 / Math.sqrt(cfg.scaling());
        for (int i = 0; i < right.length; i++) p[a.offset() + i] = (float) (right[i] * inv);
        for (int i = 0; i < left.length; i++) p[b.offset() + i] = (float) (left[i] * inv);
        base.replace(layer, m, deq);
        double init = relError(w, base.dequantized(layer, m), p, a, b, cfg.scaling());
        return new ModuleError(m.modulePath(layer), plain, init);
    }

    private static float[] checkedWeight(BaseWeightAccess base, int layer, TargetModule m, int out, int in) {
        float[] w = base.dequantized(layer, m);
        if (w.length != out * in) {
            throw new IllegalStateException(m.modulePath(layer) + ": base weight has " + w.length + " values, the "
                    + "adapter layout expects " + out + "x" + in);
        }
        return w;
    }

    /** W - scaling * B A, products in double, rounded once to fp32. */
    private static float[] minusScaledBA(
            float[] w, float[] p, AdapterLayout.Tensor a, AdapterLayout.Tensor b, double scaling) {
        int out = b.rows();
        int in = a.cols();
        int r = a.rows();
        float[] res = new float[out * in];
        for (int i = 0; i < out; i++) {
            for (int j = 0; j < in; j++) {
                double ba = 0;
                for (int t = 0; t < r; t++) ba += (double) p[b.offset() + i * r + t] * p[a.offset() + t * in + j];
                res[i * in + j] = (float) (w[i * in + j] - scaling * ba);
            }
        }
        return res;
    }

    /** |W - (baseNow + scaling * B A)|_F / |W|_F, in double. */
    static double relError(
            float[] w, float[] baseNow, float[] p, AdapterLayout.Tensor a, AdapterLayout.Tensor b, double scaling) {
        int out = b.rows();
        int in = a.cols();
        int r = a.rows();
        double num = 0;
        double den = 0;
        for (int i = 0; i < out; i++) {
            for (int j = 0; j < in; j++) {
                double ba = 0;
                if (scaling != 0) {
                    for (int t = 0; t < r; t++) ba += (double) p[b.offset() + i * r + t] * p[a.offset() + t * in + j];
                }
                double d = w[i * in + j] - (baseNow[i * in + j] + scaling * ba);
                num += d * d;
                den += (double) w[i * in + j] * w[i * in + j];
            }
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    private static double[] toDouble(float[] w) {
        double[] d = new double[w.length];
        for (int i = 0; i < w.length; i++) d[i] = w[i];
        return d;
    }
}
