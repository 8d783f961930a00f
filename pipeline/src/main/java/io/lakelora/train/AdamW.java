package io.lakelora.train;

import io.lakelora.lora.AdapterLayout;
import java.util.List;

/**
 * AdamW with decoupled weight decay, exactly as {@code torch.optim.AdamW} (single-tensor path of torch 1.13) orders its
 * fp32 operations, over one flat slab:
 * <pre>
 *   p  = p * (1 - lr * wd)
 *   m  = m * b1 + (1 - b1) * g
 *   v  = v * b2 + (1 - b2) * g * g
 *   p  = p + (-lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * </pre>
 * with t the 1-based step. Scalars are computed in double and rounded to fp32 once, as torch does with Python floats.
 * State: the moments {@code m} and {@code v}, fp32, one per parameter (8 bytes per parameter).
 */
public final class AdamW implements Optimizer {
    private static final long serialVersionUID = 1L;

    /** The {@code optimizer.type} of this rule. */
    public static final String TYPE = "adamw";

    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;

    public AdamW(double beta1, double beta2, double eps, double weightDecay) {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("optimizer.betas must be in [0, 1), got [" + beta1 + ", " + beta2 + "]");
        }
        if (!(eps >= 0)) throw new IllegalArgumentException("optimizer.eps must be >= 0, got " + eps);
        if (!(weightDecay >= 0)) {
            throw new IllegalArgumentException("optimizer.weight_decay must be >= 0, got " + weightDecay);
        }
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
    }

    @Override
    public String type() {
        return TYPE;
    }

    /** {@code m} and {@code v}: fp32, one per parameter. */
    @Override
    public List<Slab> slabs(AdapterLayout layout) {
        return List.of(new Slab("m", DType.F32, layout.size()), new Slab("v", DType.F32, layout.size()));
    }

    @Override
    public void update(float[] p, float[] g, OptimizerState state, long step, double lr) {
        update(p, g, state.floats("m"), state.floats("v"), step, lr);
    }

    @Override
    public float[][] moments(OptimizerState state) {
        return new float[][] {state.floats("m").clone(), state.floats("v").clone()};
    }

    @Override
    public void setMoments(OptimizerState state, float[][] moments) {
        float[] m = state.floats("m");
        float[] v = state.floats("v");
        if (moments.length != 2 || moments[0].length != m.length || moments[1].length != v.length) {
            throw new IllegalArgumentException("AdamW moments must be two slabs of " + m.length + " floats");
        }
        System.arraycopy(moments[0], 0, m, 0, m.length);
        System.arraycopy(moments[1], 0, v, 0, v.length);
    }

    /**
     * One update of every element of {@code p} from gradient {@code g}, moments {@code m} and {@code v} (all the same
     * length, updated in place). {@code step} is the 1-based number of this update.
     */
    public void update(float[] p, float[] g, float[] m, float[] v, long step, double lr) {
        if (step < 1) throw new IllegalArgumentException("AdamW step is 1-based, got " + step);
        int n = p.length;
        if (g.length != n || m.length != n || v.length != n) {
            throw new IllegalArgumentException(
                    "AdamW slabs differ in length: p " + n + ", g " + g.length + ", m " + m.length + ", v " + v.length);
        }
        float decay = (float) (1 - lr * weightDecay);
        float b1 = (float) beta1;
        float b2 = (float) beta2;
        float oneMinusB1 = (float) (1 - beta1);
        float oneMinusB2 = (float) (1 - beta2);
        double bc1 = 1 - Math.pow(beta1, step);
        double bc2 = 1 - Math.pow(beta2, step);
        float negStepSize = (float) (-(lr / bc1));
        float bc2Sqrt = (float) Math.sqrt(bc2);
        float epsF = (float) eps;
        for (int i = 0; i < n; i++) {
            float gi = g[i];
            float pi = p[i] * decay;
            float mi = m[i] * b1 + oneMinusB1 * gi;
            float vi = v[i] * b2 + oneMinusB2 * gi * gi;
            float denom = (float) Math.sqrt(vi) / bc2Sqrt + epsF;
            p[i] = pi + negStepSize * mi / denom;
            m[i] = mi;
            v[i] = vi;
        }
    }
}
