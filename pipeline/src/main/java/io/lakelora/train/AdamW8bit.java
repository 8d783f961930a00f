package io.lakelora.train;

import io.lakelora.lora.AdapterLayout;
import io.lakelora.quant.DynamicMap;
import java.util.List;

/**
 * AdamW with 8-bit block-wise states, with the semantics of bitsandbytes' {@code AdamW8bit} ({@code block_wise=True};
 * CUDA kernel {@code kOptimizerStatic8bit2StateBlockwise}, {@code ADAM} case). Each adapter tensor (bitsandbytes works
 * per parameter) is cut into blocks of {@value #BLOCK} elements; per block, every step:
 * <pre>
 *   g finite:  v = code2[state2] * absmax2 ;  v = v * b2 + (1 - b2) * g * g
 *              m = code1[state1] * absmax1 ;  m = m * b1 + (1 - b1) * g
 *   else       m = v = 0 (and p is left alone)
 *   absmax1 = max |m|, absmax2 = max |v| over the block (a short last block also counts bitsandbytes' padded
 *             lanes, which load g = 0, state1 = 128, state2 = 0)
 *   p = p + step_size * (m / (sqrt(v) + c2 * eps)) ;  p = p * (1 - lr * wd) when wd > 0
 *   state1 = nearest code1 of m / absmax1, moved one code toward m when the code's sign differs from m's
 *   state2 = nearest code2 of v / absmax2
 * </pre>
 * with {@code c1 = 1 - b1^t}, {@code c2 = sqrt(1 - b2^t)}, {@code step_size = -lr * c2 / c1}, all fp32 as the kernel
 * computes them; {@code code1} is the signed dynamic map and {@code code2} the unsigned one
 * ({@link DynamicMap}); "nearest" is bitsandbytes' search ({@link DynamicMap#encode}). Where the GPU uses fast
 * intrinsics ({@code __powf}, {@code __fdividef}) this uses correctly rounded fp32, so it matches the kernel's
 * algorithm, not its last bits. Unlike bitsandbytes' default {@code min_8bit_size=4096}, tensors under 4096 elements
 * are 8-bit too (LoRA tensors of real models are far larger: r=16 on a 4096-wide model is 65,536).
 *
 * <p>State (bitsandbytes' names): {@code state1}, {@code state2} u8 per parameter, {@code absmax1}, {@code absmax2}
 * fp32 per block: 2 + 8/256 bytes per parameter instead of AdamW's 8.
 */
public final class AdamW8bit implements Optimizer {
    private static final long serialVersionUID = 1L;

    /** The {@code optimizer.type} of this rule. */
    public static final String TYPE = "adamw8bit";

    /** Elements per quantization block (bitsandbytes' {@code BLOCKSIZE_2STATE}). */
    public static final int BLOCK = 256;

    /** The signed dynamic map: the first moment's codes. */
    static final float[] CODE1 = DynamicMap.signed();

    /** The unsigned dynamic map: the second moment's codes. */
    static final float[] CODE2 = DynamicMap.unsigned();

    /** The code a padded lane of a short block loads for state1 (bitsandbytes loads 128; state2 loads 0). */
    private static final int PAD_CODE1 = 128;

    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;

    /** Hyper-parameters as the kernel receives them: fp32. */
    public AdamW8bit(double beta1, double beta2, double eps, double weightDecay) {
        new AdamW(beta1, beta2, eps, weightDecay); // the same ranges are valid
        this.beta1 = (float) beta1;
        this.beta2 = (float) beta2;
        this.eps = (float) eps;
        this.weightDecay = (float) weightDecay;
    }

    @Override
    public String type() {
        return TYPE;
    }

    /** Number of blocks for tensors of {@code segments} elements (each tensor starts a new block). */
    static int blocks(int[] segments) {
        long n = 0;
        for (int s : segments) n += (s + BLOCK - 1) / BLOCK;
        return Math.toIntExact(n);
    }

    @Override
    public List<Slab> slabs(AdapterLayout layout) {
        int n = layout.size();
        int b = blocks(OptimizerState.segments(layout));
        return List.of(
                new Slab("state1", DType.U8, n),
                new Slab("state2", DType.U8, n),
                new Slab("absmax1", DType.F32, b),
                new Slab("absmax2", DType.F32, b));
    }

    @Override
    public void update(float[] p, float[] g, OptimizerState state, long step, double lr) {
        if (step < 1) throw new IllegalArgumentException("AdamW8bit step is 1-based, got " + step);
        byte[] c1 = state.bytes("state1");
        byte[] c2 = state.bytes("state2");
        float[] absmax1 = state.floats("absmax1");
        float[] absmax2 = state.floats("absmax2");
        if (p.length != c1.length || g.length != c1.length) {
            throw new IllegalArgumentException("AdamW8bit slabs differ in length: p " + p.length + ", g " + g.length
                    + ", state " + c1.length + " (" + state.describe() + ")");
        }
        float lrF = (float) lr;
        float correction1 = 1.0f - (float) Math.pow(beta1, step);
        float correction2 = (float) Math.sqrt(1.0f - (float) Math.pow(beta2, step));
        float stepSize = (-lrF * correction2) / correction1;
        float epsC2 = correction2 * eps;
        float decay = 1.0f - (lrF * weightDecay);
        float oneMinusB1 = 1.0f - beta1;
        float oneMinusB2 = 1.0f - beta2;
        float[] s1 = new float[BLOCK];
        float[] s2 = new float[BLOCK];
        int block = 0;
        int off = 0;
        for (int len : state.segments()) {
            for (int start = off; start < off + len; start += BLOCK, block++) {
                int count = Math.min(BLOCK, off + len - start);
                float a1 = absmax1[block];
                float a2 = absmax2[block];
                float max1 = -Float.MAX_VALUE;
                float max2 = -Float.MAX_VALUE;
                for (int j = 0; j < count; j++) {
                    int i = start + j;
                    float gi = g[i];
                    float m = 0f;
                    float v = 0f;
                    if (Float.isFinite(gi)) {
                        v = CODE2[c2[i] & 0xFF] * a2;
                        v = (v * beta2) + ((oneMinusB2 * gi) * gi);
                        m = CODE1[c1[i] & 0xFF] * a1;
                        m = (m * beta1) + (oneMinusB1 * gi);
                    }
                    s1[j] = m;
                    s2[j] = v;
                    max1 = Math.max(max1, Math.abs(m));
                    max2 = Math.max(max2, Math.abs(v));
                }
                if (count < BLOCK) { // padded lanes: g = 0
                    max1 = Math.max(max1, Math.abs((CODE1[PAD_CODE1] * a1) * beta1 + oneMinusB1 * 0f));
                    max2 = Math.max(max2, Math.abs((CODE2[0] * a2) * beta2 + (oneMinusB2 * 0f) * 0f));
                }
                absmax1[block] = max1;
                absmax2[block] = max2;
                for (int j = 0; j < count; j++) {
                    int i = start + j;
                    if (!Float.isFinite(g[i])) continue;
                    float pi = p[i] + (stepSize * (s1[j] / ((float) Math.sqrt(s2[j]) + epsC2)));
                    if (weightDecay > 0.0f) pi = pi * decay;
                    p[i] = pi;
                }
                for (int j = 0; j < count; j++) {
                    int i = start + j;
                    c1[i] = (byte) encodeSigned(s1[j], max1);
                    c2[i] = (byte) DynamicMap.encode(CODE2, s2[j] / max2);
                }
            }
            off += len;
        }
    }

    /** The code of {@code m / absmax} in the signed map, kept on m's side of zero (bitsandbytes' sign fix). */
    private static int encodeSigned(float m, float absmax) {
        int c = DynamicMap.encode(CODE1, m / absmax);
        if (signBit(CODE1[c]) != signBit(m)) c += m > 0.0f ? 1 : -1;
        return c & 0xFF; // unsigned char arithmetic, as the kernel's
    }

    private static boolean signBit(float x) {
        return Float.floatToRawIntBits(x) < 0;
    }

    /** Dequantized m and v: {@code code[state] * absmax} of each element's block. */
    @Override
    public float[][] moments(OptimizerState state) {
        byte[] c1 = state.bytes("state1");
        byte[] c2 = state.bytes("state2");
        float[] absmax1 = state.floats("absmax1");
        float[] absmax2 = state.floats("absmax2");
        float[] m = new float[c1.length];
        float[] v = new float[c2.length];
        int block = 0;
        int off = 0;
        for (int len : state.segments()) {
            for (int start = off; start < off + len; start += BLOCK, block++) {
                int end = Math.min(start + BLOCK, off + len);
                for (int i = start; i < end; i++) {
                    m[i] = CODE1[c1[i] & 0xFF] * absmax1[block];
                    v[i] = CODE2[c2[i] & 0xFF] * absmax2[block];
                }
            }
            off += len;
        }
        return new float[][] {m, v};
    }

    /** Quantizes fp32 m and v block-wise (absmax = max |x| of the block) into {@code state}. */
    @Override
    public void setMoments(OptimizerState state, float[][] moments) {
        byte[] c1 = state.bytes("state1");
        byte[] c2 = state.bytes("state2");
        float[] absmax1 = state.floats("absmax1");
        float[] absmax2 = state.floats("absmax2");
        if (moments.length != 2 || moments[0].length != c1.length || moments[1].length != c2.length) {
            throw new IllegalArgumentException("AdamW8bit moments must be two slabs of " + c1.length + " floats");
        }
        float[] m = moments[0];
        float[] v = moments[1];
        int block = 0;
        int off = 0;
        for (int len : state.segments()) {
            for (int start = off; start < off + len; start += BLOCK, block++) {
                int end = Math.min(start + BLOCK, off + len);
                float max1 = 0f;
                float max2 = 0f;
                for (int i = start; i < end; i++) {
                    max1 = Math.max(max1, Math.abs(m[i]));
                    max2 = Math.max(max2, Math.abs(v[i]));
                }
                absmax1[block] = max1;
                absmax2[block] = max2;
                for (int i = start; i < end; i++) {
                    c1[i] = (byte) encodeSigned(m[i], max1);
                    c2[i] = (byte) DynamicMap.encode(CODE2, v[i] / max2);
                }
            }
            off += len;
        }
    }
}
