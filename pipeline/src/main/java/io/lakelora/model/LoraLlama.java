package io.lakelora.model;

import io.lakelora.kernel.Kernels;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.nn.Attention;
import io.lakelora.model.nn.Dropout;
import io.lakelora.model.nn.FrozenLinear;
import io.lakelora.model.nn.GeluTanhGate;
import io.lakelora.model.nn.HeadRmsNorm;
import io.lakelora.model.nn.LmHeadLoss;
import io.lakelora.model.nn.Par;
import io.lakelora.model.nn.RmsNorm;
import io.lakelora.model.nn.Rope;
import io.lakelora.model.nn.SwiGlu;
import io.lakelora.train.Batch;
import io.lakelora.train.LossSum;
import io.lakelora.train.TrainableModel;
import java.util.Arrays;

/**
 * A frozen LLaMA-family base with LoRA adapters: the training forward and the hand-written backward (llm.c style).
 * Loss: cross-entropy with ignore index -100, labels aligned with input ids and shifted inside (HF); the SUM over
 * target tokens is returned and its gradient accumulated into the LoRA slab. Frozen weights get no gradient buffers;
 * the input gradient flows through them (quantized ones via {@code qgemm}).
 *
 * <p>Family pieces ({@link ModelConfig}): Qwen3's and Gemma 3's per-head q/k norms before RoPE; Gemma 3's scaled
 * embeddings, sandwich norms around attention and MLP, gelu-tanh gate, {@code query_pre_attn_scalar} (the queries are
 * multiplied by {@code sqrt(head_dim / query_pre_attn_scalar)} after RoPE, so that {@link Attention}'s
 * {@code 1/sqrt(head_dim)} gives the model's scale), and per-layer windows and RoPE bases (sliding vs global layers).
 *
 * <p>Activations are sized for the largest (B, T) seen and reused across calls. With {@code recompute}, only each
 * layer's input (N, C) is kept and the layer's forward is re-run during the backward, bounding memory at one layer's
 * activations. The frozen base is a {@link FrozenBase}: in memory ({@link LlamaWeights}), or streamed from disk
 * ({@link StreamedBase}: each pass declares its layer order to the {@link LayerSource}, which reads the next layers
 * while the current one computes; the arithmetic is the same, bit for bit). Not thread-safe: one instance per thread;
 * multi-threading comes from the kernels.
 */
public final class LoraLlama implements TrainableModel {
    private final FrozenBase base;
    private final ModelConfig a;
    private final LoraSpec spec;
    private final AdapterLayout layout;
    private final Kernels kern;
    private final boolean recompute;
    private final Rope rope; // the global layers' (every layer's but Gemma 3's sliding ones)
    private final Rope localRope; // Gemma 3's sliding layers', or null
    private final LmHeadLoss head;
    private final float eps;
    private final int window; // the sliding layers' window (Mistral: every layer), or Integer.MAX_VALUE
    private final boolean qkNorm; // Qwen3, Gemma 3
    private final boolean sandwich; // Gemma 3's post-attention / pre- and post-feedforward norms
    private final float qScale; // sqrt(head_dim / query_pre_attn_scalar), 1 unless Gemma 3 differs

    // capacity
    private int capN = -1;
    private int capT = -1;
    private int capB = -1;
    private LayerActs[] acts; // L layers, or 1 shared when recomputing
    private float[][] resid; // (L+1) x (N, C): input of layer l, resid[L] the last layer's output
    private float[] lnf, rstdf; // (N, C), (N)
    private int[] pos, lo, loSliding, hi, targets; // (N); lo of the full-attention and of the sliding layers
    // backward scratch
    private float[] dresid, dlnf, dln, dq, dk, dv, datt, dgate, dup, dh, du, daT, aCat, xdBuf, dxdBuf;
    private float[] dqRaw, dkRaw, dpost; // q/k norm inputs' gradients; a sandwich norm's input gradient
    private float[][] attScratch; // (T, T) per kernel thread

    /**
     * @param base      the frozen weights: in memory ({@link LlamaWeights}) or streamed from disk ({@link StreamedBase})
     * @param spec      rank, scaling, dropout and targets of the adapter
     * @param recompute keep only layer inputs and recompute each layer in the backward
     */
    public LoraLlama(FrozenBase base, LoraSpec spec, Kernels kernels, boolean recompute) {
        this.base = base;
        this.a = base.arch();
        this.spec = spec;
        this.layout = spec.layout(a);
        this.kern = kernels;
        this.recompute = recompute;
        this.rope = new Rope(a.ropeInvFreq());
        Rope local = null;
        for (int l = 0; l < a.numLayers(); l++) if (a.localRope(l)) local = new Rope(a.ropeInvFreq(l));
        this.localRope = local;
        this.head = new LmHeadLoss(a.hiddenSize(), a.vocabSize());
        this.eps = (float) a.rmsNormEps();
        this.window = a.slidingWindow() == null ? Integer.MAX_VALUE : a.slidingWindow();
        this.qkNorm = a.architecture().qkNorm();
        this.sandwich = a.sandwichNorms();
        this.qScale = queryScale(a);
    }

    /**
     * The factor that turns {@link Attention}'s 1/sqrt(head_dim) into {@code query_pre_attn_scalar^-0.5}: exactly 1
     * when they are equal (every family but some Gemma 3 sizes).
     */
    static float queryScale(ModelConfig a) {
        return a.queryPreAttnScalar() == a.headDim() ? 1f : (float) Math.sqrt(a.headDim() / a.queryPreAttnScalar());
    }

    private Rope ropeOf(int l) {
        return a.localRope(l) ? localRope : rope;
    }

    private int[] loOf(int l) {
        return a.window(l) == Integer.MAX_VALUE ? lo : loSliding;
    }

    @Override
    public AdapterLayout layout() {
        return layout;
    }

    public LoraSpec spec() {
        return spec;
    }

    /** The in-memory base weights; a streamed base has none ({@link IllegalStateException}). */
    public LlamaWeights weights() {
        if (base instanceof LlamaWeights w) return w;
        throw new IllegalStateException(
                "this model's base is streamed from disk (" + base + "); its weights are" + " not held in memory");
    }

    /** The frozen base this model trains over. */
    public FrozenBase base() {
        return base;
    }

    /**
     * Projections that read the same input: q/k/v (ln1), o (att), gate/up (ln2), down (h). Without dropout the LoRA
     * A factors of a group act as one (G*R, IN) matrix: one product for all u's, one for dA, one for the input
     * gradient (fewer passes over the large (N, IN) operands than one rank-R product per module).
     */
    private static final TargetModule[][] GROUPS = {
        {TargetModule.Q, TargetModule.K, TargetModule.V}, {TargetModule.O},
        {TargetModule.GATE, TargetModule.UP}, {TargetModule.DOWN}
    };

    private static final int QKV = 0, OPROJ = 1, GATE_UP = 2, DOWN = 3;

    /** The activations of one layer (the forward's cache for the backward). */
    private static final class LayerActs {
        final float[] ln1, rstd1, q, k, v, probs, att, res, ln2, rstd2, gate, up, h;
        /** q/k norms: the projections before the norm (N, QD), (N, KVD) and the per-head rstd (N*NH), (N*NKV). */
        final float[] qRaw, kRaw, rstdQ, rstdK;
        /** sandwich norms: attention and MLP outputs before their post norms (N, C) and the norms' rstd (N). */
        final float[] attnOut, rstdPa, mlpOut, rstdPm;
        /** Per projection group (q/k/v, o, gate/up, down): (N, G*R), u of the group's targeted modules side by side. */
        final float[][] u = new float[GROUPS.length][];

        LayerActs(ModelConfig a, AdapterLayout layout, int N, int B, int T) {
            int C = a.hiddenSize();
            ln1 = new float[N * C];
            rstd1 = new float[N];
            q = new float[N * a.qDim()];
            k = new float[N * a.kvDim()];
            v = new float[N * a.kvDim()];
            probs = new float[Math.multiplyExact(Math.multiplyExact(B * a.numHeads(), T), T)];
            att = new float[N * a.qDim()];
            res = new float[N * C];
            ln2 = new float[N * C];
            rstd2 = new float[N];
            gate = new float[N * a.intermediateSize()];
            up = new float[N * a.intermediateSize()];
            h = new float[N * a.intermediateSize()];
            boolean qk = a.architecture().qkNorm();
            qRaw = qk ? new float[N * a.qDim()] : null;
            kRaw = qk ? new float[N * a.kvDim()] : null;
            rstdQ = qk ? new float[N * a.numHeads()] : null;
            rstdK = qk ? new float[N * a.numKvHeads()] : null;
            boolean sw = a.sandwichNorms();
            attnOut = sw ? new float[N * C] : null;
            rstdPa = sw ? new float[N] : null;
            mlpOut = sw ? new float[N * C] : null;
            rstdPm = sw ? new float[N] : null;
            for (int g = 0; g < GROUPS.length; g++) {
                int n = 0;
                for (TargetModule m : GROUPS[g]) if (layout.targets().contains(m)) n++;
                if (n > 0) u[g] = new float[N * n * layout.rank()];
            }
        }
    }

    private void ensureCapacity(int B, int T) {
        int N = B * T;
        if (N <= capN && T <= capT && B <= capB) return;
        int nb = Math.max(B, capB);
        int nt = Math.max(T, capT);
        int nn = Math.multiplyExact(nb, nt);
        int C = a.hiddenSize();
        acts = new LayerActs[recompute ? 1 : a.numLayers()];
        for (int i = 0; i < acts.length; i++) acts[i] = new LayerActs(a, layout, nn, nb, nt);
        resid = new float[a.numLayers() + 1][nn * C];
        lnf = new float[nn * C];
        rstdf = new float[nn];
        pos = new int[nn];
        lo = new int[nn];
        loSliding = new int[nn];
        hi = new int[nn];
        targets = new int[nn];
        dresid = new float[nn * C];
        dlnf = new float[nn * C];
        dln = new float[nn * C];
        dq = new float[nn * a.qDim()];
        dk = new float[nn * a.kvDim()];
        dv = new float[nn * a.kvDim()];
        datt = new float[nn * a.qDim()];
        dgate = new float[nn * a.intermediateSize()];
        dup = new float[nn * a.intermediateSize()];
        dh = new float[nn * a.intermediateSize()];
        dqRaw = qkNorm ? new float[nn * a.qDim()] : null;
        dkRaw = qkNorm ? new float[nn * a.kvDim()] : null;
        dpost = sandwich ? new float[nn * C] : null;
        int maxIn = Math.max(C, Math.max(a.qDim(), a.intermediateSize()));
        int maxW = 3 * layout.rank(); // widest group: q, k, v
        du = new float[nn * maxW];
        daT = new float[maxIn * maxW];
        aCat = new float[maxW * maxIn];
        xdBuf = spec.dropout() > 0 ? new float[nn * maxIn] : null;
        dxdBuf = spec.dropout() > 0 ? new float[nn * maxIn] : null;
        attScratch = new float[kern.threads()][nt * nt];
        capN = nn;
        capT = nt;
        capB = nb;
    }

    @Override
    public LossSum forwardBackward(float[] params, float[] grads, Batch batch, long dropoutSeed) {
        checkSlab("params", params);
        checkSlab("grads", grads);
        int B = batch.batchSize();
        int T = batch.seqLen();
        int N = B * T;
        int C = a.hiddenSize();
        long count = prepare(batch);
        boolean drop = spec.dropout() > 0;
        int L = a.numLayers();
        double loss;
        // the layers' weights are used in this order (a streamed base reads the next ones meanwhile)
        try (LayerSource.Pass pass = base.layerSource().open(LayerSource.trainingOrder(L))) {
            for (int l = 0; l < L; l++) {
                LayerWeights lw = pass.acquire(l);
                layerForward(lw, l, actsFor(l), resid[l], resid[l + 1], params, dropoutSeed, drop, B, T);
                pass.release(l);
            }
            // lnf = rmsnorm(x_L); loss = sum over targets of CE(lnf W_head^T)
            rmsForward(lnf, rstdf, resid[L], base.finalNorm(), N, C);
            fill(dlnf, N * C);
            loss = head.forwardBackward(kern, base.lmHead(), dlnf, lnf, targets, null, N, 1f);
            fill(dresid, N * C);
            rmsBackward(dresid, dlnf, resid[L], base.finalNorm(), rstdf, N, C);
            for (int l = L - 1; l >= 0; l--) {
                LayerWeights lw = pass.acquire(l);
                if (recompute) layerForward(lw, l, acts[0], resid[l], resid[l + 1], params, dropoutSeed, drop, B, T);
                // layer 0's input is the frozen embedding: its gradient is not needed
                layerBackward(lw, l, actsFor(l), resid[l], params, grads, dropoutSeed, drop, B, T, l > 0);
                pass.release(l);
            }
        }
        return new LossSum(loss, count);
    }

    @Override
    public LossSum evaluate(float[] params, Batch batch) {
        checkSlab("params", params);
        int B = batch.batchSize();
        int T = batch.seqLen();
        int N = B * T;
        long count = prepare(batch);
        int L = a.numLayers();
        try (LayerSource.Pass pass = base.layerSource().open(LayerSource.forwardOrder(L))) {
            for (int l = 0; l < L; l++) {
                LayerWeights lw = pass.acquire(l);
                layerForward(lw, l, acts[0], resid[l], resid[l + 1], params, 0L, false, B, T);
                pass.release(l);
            }
        }
        rmsForward(lnf, rstdf, resid[L], base.finalNorm(), N, a.hiddenSize());
        double loss = head.forwardBackward(kern, base.lmHead(), null, lnf, targets, null, N, 0f);
        return new LossSum(loss, count);
    }

    private LayerActs actsFor(int l) {
        return recompute ? acts[0] : acts[l];
    }

    private void checkSlab(String what, float[] slab) {
        if (slab.length != layout.size()) {
            throw new IllegalArgumentException(
                    what + " slab has " + slab.length + " floats, the adapter layout needs " + layout.size());
        }
    }

    /** Validates the batch, sizes buffers, embeds tokens into resid[0], fills positions, windows and targets. */
    private long prepare(Batch batch) {
        int B = batch.batchSize();
        int T = batch.seqLen();
        int V = a.vocabSize();
        int C = a.hiddenSize();
        float embedScale = a.embedScale();
        ensureCapacity(B, T);
        long count = 0;
        for (int b = 0; b < B; b++) {
            int[] ids = batch.inputIds()[b];
            int[] lab = batch.labels()[b];
            int[] pid = batch.positionIds() == null ? null : batch.positionIds()[b];
            int start = 0;
            for (int t = 0; t < T; t++) {
                int n = b * T + t;
                int tok = ids[t];
                if (tok < 0 || tok >= V) {
                    throw new IllegalArgumentException(
                            "input_ids[" + b + "][" + t + "] = " + tok + " is outside the vocabulary [0, " + V + ")");
                }
                int label = lab[t];
                if (label != Batch.IGNORE_INDEX && (label < 0 || label >= V)) {
                    throw new IllegalArgumentException("labels[" + b + "][" + t + "] = " + label + " must be -100 "
                            + "(ignored) or a token id in [0, " + V + ")");
                }
                base.embeddingRow(tok, resid[0], n * C);
                if (embedScale != 1f) { // Gemma 3: embeddings times sqrt(hidden_size), in fp32
                    for (int c = n * C; c < n * C + C; c++) resid[0][c] *= embedScale;
                }
                int p = pid == null ? t : pid[t];
                if (p < 0) throw new IllegalArgumentException("position_ids[" + b + "][" + t + "] = " + p + " < 0");
                if (pid != null && p == 0) start = t;
                pos[n] = p;
                lo[n] = start; // document start
                loSliding[n] = Math.max(start, t - window + 1); // and the sliding window (Mistral, Gemma 3)
                hi[n] = t;
                // position t predicts labels[t + 1] (HF shifts inside the model)
                int target = t + 1 < T ? lab[t + 1] : Batch.IGNORE_INDEX;
                targets[n] = target == Batch.IGNORE_INDEX ? -1 : target;
                if (targets[n] >= 0) count++;
            }
        }
        int maxPos = 0;
        for (int n = 0; n < B * T; n++) maxPos = Math.max(maxPos, pos[n]);
        rope.ensure(maxPos + 1); // before the parallel sections, which only read the tables
        if (localRope != null) localRope.ensure(maxPos + 1);
        return count;
    }

    private void layerForward(
            LayerWeights lw,
            int l,
            LayerActs c,
            float[] xIn,
            float[] xOut,
            float[] params,
            long seed,
            boolean drop,
            int B,
            int T) {
        int N = B * T;
        int C = a.hiddenSize();
        int NH = a.numHeads();
        int NKV = a.numKvHeads();
        int HS = a.headDim();
        int QD = a.qDim();
        int KVD = a.kvDim();
        Rope rope = ropeOf(l);
        // ln1 = rmsnorm(x)                                              (N, C)
        rmsForward(c.ln1, c.rstd1, xIn, lw.attnNorm(), N, C);
        // q, k, v = ln1 W^T (+ b) + lora(ln1)                           (N, QD), (N, KVD), (N, KVD)
        projForward(
                l,
                QKV,
                new FrozenLinear[] {lw.q(), lw.k(), lw.v()},
                new float[][] {qkNorm ? c.qRaw : c.q, qkNorm ? c.kRaw : c.k, c.v},
                c.ln1,
                c,
                params,
                seed,
                drop,
                N);
        if (qkNorm) {
            // q, k = q_norm(q), k_norm(k): RMSNorm per head over HS (Qwen3, Gemma 3)
            Par.rows(kern, N, 16, (n0, n1) -> {
                HeadRmsNorm.forward(
                        kern, c.q, n0 * QD, c.rstdQ, n0 * NH, c.qRaw, n0 * QD, lw.qNorm(), n1 - n0, NH, HS, eps);
                HeadRmsNorm.forward(
                        kern, c.k, n0 * KVD, c.rstdK, n0 * NKV, c.kRaw, n0 * KVD, lw.kNorm(), n1 - n0, NKV, HS, eps);
            });
        }
        // q, k = rope(q), rope(k)
        Par.rows(kern, N, 32, (n0, n1) -> {
            rope.forward(c.q, n0 * QD, pos, n0, n1 - n0, NH);
            rope.forward(c.k, n0 * KVD, pos, n0, n1 - n0, NKV);
        });
        // q *= sqrt(HS / query_pre_attn_scalar) (Gemma 3 sizes where they differ)
        if (qScale != 1f) scale(c.q, N * QD, qScale);
        int[] lo = loOf(l);
        // att = softmax(q k^T / sqrt(HS) + mask) v, per sequence        (N, QD); probs (B, NH, T, T)
        for (int b = 0; b < B; b++) {
            Attention.forward(
                    kern,
                    c.att,
                    b * T * QD,
                    c.probs,
                    b * NH * T * T,
                    true,
                    c.q,
                    b * T * QD,
                    c.k,
                    b * T * KVD,
                    c.v,
                    b * T * KVD,
                    lo,
                    hi,
                    b * T,
                    T,
                    T,
                    NH,
                    NKV,
                    HS);
        }
        if (sandwich) {
            // res = x + post_attention_norm(att Wo^T + lora(att))      (N, C)
            projForward(
                    l, OPROJ, new FrozenLinear[] {lw.o()}, new float[][] {c.attnOut}, c.att, c, params, seed, drop, N);
            rmsForward(c.res, c.rstdPa, c.attnOut, lw.postAttnNorm(), N, C);
        } else {
            // res = x + att Wo^T + lora(att)                            (N, C)
            projForward(l, OPROJ, new FrozenLinear[] {lw.o()}, new float[][] {c.res}, c.att, c, params, seed, drop, N);
        }
        add(c.res, xIn, N * C);
        // ln2 = rmsnorm(res)                                            (N, C)
        rmsForward(c.ln2, c.rstd2, c.res, lw.mlpNorm(), N, C);
        // gate, up = ln2 Wg^T, ln2 Wu^T (+ lora)                        (N, F)
        projForward(
                l,
                GATE_UP,
                new FrozenLinear[] {lw.gate(), lw.up()},
                new float[][] {c.gate, c.up},
                c.ln2,
                c,
                params,
                seed,
                drop,
                N);
        // h = silu(gate) * up, or gelu_tanh(gate) * up (Gemma 3)      (N, F)
        if (a.geluTanh()) {
            Par.elements(
                    kern,
                    N * a.intermediateSize(),
                    (i0, i1) -> GeluTanhGate.forward(kern, c.h, c.gate, c.up, i0, i1 - i0));
        } else {
            Par.elements(
                    kern, N * a.intermediateSize(), (i0, i1) -> SwiGlu.forward(kern, c.h, c.gate, c.up, i0, i1 - i0));
        }
        if (sandwich) {
            // out = res + post_feedforward_norm(h Wd^T + lora(h))       (N, C)
            projForward(
                    l, DOWN, new FrozenLinear[] {lw.down()}, new float[][] {c.mlpOut}, c.h, c, params, seed, drop, N);
            rmsForward(xOut, c.rstdPm, c.mlpOut, lw.postMlpNorm(), N, C);
        } else {
            // out = res + h Wd^T + lora(h)                              (N, C)
            projForward(l, DOWN, new FrozenLinear[] {lw.down()}, new float[][] {xOut}, c.h, c, params, seed, drop, N);
        }
        add(xOut, c.res, N * C);
    }

    /** x[0, n) *= s. */
    private void scale(float[] x, int n, float s) {
        Par.elements(kern, n, (i0, i1) -> {
            for (int i = i0; i < i1; i++) x[i] *= s;
        });
    }

    private void rmsForward(float[] out, float[] rstd, float[] x, float[] weight, int N, int C) {
        Par.rows(
                kern,
                N,
                16,
                (n0, n1) -> RmsNorm.forward(kern, out, n0 * C, rstd, n0, x, n0 * C, weight, n1 - n0, C, eps));
    }

    /** dx += rmsnorm backward. */
    private void rmsBackward(float[] dx, float[] dout, float[] x, float[] weight, float[] rstd, int N, int C) {
        Par.rows(
                kern,
                N,
                16,
                (n0, n1) -> RmsNorm.backward(kern, dx, n0 * C, dout, n0 * C, x, n0 * C, weight, rstd, n0, n1 - n0, C));
    }

    /** y[0, n) += x[0, n). */
    private void add(float[] y, float[] x, int n) {
        Par.elements(kern, n, (i0, i1) -> {
            for (int i = i0; i < i1; i++) y[i] += x[i];
        });
    }

    /** x[0, n) = 0. */
    private void fill(float[] x, int n) {
        Par.elements(kern, n, (i0, i1) -> Arrays.fill(x, i0, i1, 0f));
    }

    /** On entry dresid holds d(layer output); on return d(layer input). */
    private void layerBackward(
            LayerWeights lw,
            int l,
            LayerActs c,
            float[] xIn,
            float[] params,
            float[] grads,
            long seed,
            boolean drop,
            int B,
            int T,
            boolean needDx) {
        int N = B * T;
        int C = a.hiddenSize();
        int F = a.intermediateSize();
        int NH = a.numHeads();
        int NKV = a.numKvHeads();
        int HS = a.headDim();
        int QD = a.qDim();
        int KVD = a.kvDim();
        Rope rope = ropeOf(l);
        int[] lo = loOf(l);
        // out = res + h Wd^T + lora(h)  =>  dres = dout (dresid, in place); dh = dout Wd (+ lora)
        // (Gemma 3: out = res + norm(mlpOut), so d mlpOut = the norm's backward of dout)
        if (sandwich) {
            fill(dpost, N * C);
            rmsBackward(dpost, dresid, c.mlpOut, lw.postMlpNorm(), c.rstdPm, N, C);
        }
        projBackward(
                l,
                DOWN,
                new FrozenLinear[] {lw.down()},
                new float[][] {sandwich ? dpost : dresid},
                dh,
                c.h,
                c,
                params,
                grads,
                seed,
                drop,
                N,
                true);
        // h = silu(gate) * up, or gelu_tanh(gate) * up
        if (a.geluTanh()) {
            Par.elements(
                    kern, N * F, (i0, i1) -> GeluTanhGate.backward(kern, dgate, dup, dh, c.gate, c.up, i0, i1 - i0));
        } else {
            Par.elements(kern, N * F, (i0, i1) -> SwiGlu.backward(kern, dgate, dup, dh, c.gate, c.up, i0, i1 - i0));
        }
        // gate, up = ln2 Wg^T, ln2 Wu^T (+ lora)
        projBackward(
                l,
                GATE_UP,
                new FrozenLinear[] {lw.gate(), lw.up()},
                new float[][] {dgate, dup},
                dln,
                c.ln2,
                c,
                params,
                grads,
                seed,
                drop,
                N,
                true);
        // ln2 = rmsnorm(res)  =>  dres += rmsnorm backward
        rmsBackward(dresid, dln, c.res, lw.mlpNorm(), c.rstd2, N, C);
        // res = x + att Wo^T + lora(att)  =>  dx = dres (in place); datt = dres Wo (+ lora)
        // (Gemma 3: res = x + norm(attnOut))
        if (sandwich) {
            fill(dpost, N * C);
            rmsBackward(dpost, dresid, c.attnOut, lw.postAttnNorm(), c.rstdPa, N, C);
        }
        projBackward(
                l,
                OPROJ,
                new FrozenLinear[] {lw.o()},
                new float[][] {sandwich ? dpost : dresid},
                datt,
                c.att,
                c,
                params,
                grads,
                seed,
                drop,
                N,
                true);
        // att = attention(q, k, v)
        fill(dq, N * QD);
        fill(dk, N * KVD);
        fill(dv, N * KVD);
        for (int b = 0; b < B; b++) {
            Attention.backward(
                    kern,
                    dq,
                    b * T * QD,
                    dk,
                    b * T * KVD,
                    dv,
                    b * T * KVD,
                    attScratch,
                    datt,
                    b * T * QD,
                    c.probs,
                    b * NH * T * T,
                    c.q,
                    b * T * QD,
                    c.k,
                    b * T * KVD,
                    c.v,
                    b * T * KVD,
                    lo,
                    hi,
                    b * T,
                    T,
                    T,
                    NH,
                    NKV,
                    HS);
        }
        if (qScale != 1f) scale(dq, N * QD, qScale);
        // q, k = rope(q), rope(k)
        Par.rows(kern, N, 32, (n0, n1) -> {
            rope.backward(dq, n0 * QD, pos, n0, n1 - n0, NH);
            rope.backward(dk, n0 * KVD, pos, n0, n1 - n0, NKV);
        });
        if (qkNorm) {
            // q, k = q_norm(qRaw), k_norm(kRaw)
            fill(dqRaw, N * QD);
            fill(dkRaw, N * KVD);
            Par.rows(kern, N, 16, (n0, n1) -> {
                HeadRmsNorm.backward(
                        kern,
                        dqRaw,
                        n0 * QD,
                        dq,
                        n0 * QD,
                        c.qRaw,
                        n0 * QD,
                        lw.qNorm(),
                        c.rstdQ,
                        n0 * NH,
                        n1 - n0,
                        NH,
                        HS);
                HeadRmsNorm.backward(
                        kern,
                        dkRaw,
                        n0 * KVD,
                        dk,
                        n0 * KVD,
                        c.kRaw,
                        n0 * KVD,
                        lw.kNorm(),
                        c.rstdK,
                        n0 * NKV,
                        n1 - n0,
                        NKV,
                        HS);
            });
        }
        // q, k, v = ln1 W^T (+ b) + lora(ln1)
        projBackward(
                l,
                QKV,
                new FrozenLinear[] {lw.q(), lw.k(), lw.v()},
                new float[][] {qkNorm ? dqRaw : dq, qkNorm ? dkRaw : dk, dv},
                dln,
                c.ln1,
                c,
                params,
                grads,
                seed,
                drop,
                N,
                needDx);
        // ln1 = rmsnorm(x)  =>  dx += rmsnorm backward
        if (needDx) rmsBackward(dresid, dln, xIn, lw.attnNorm(), c.rstd1, N, C);
    }

    /** The first n modules of a group that carry an adapter: their indices in the group and A/B slab offsets. */
    private record Targets(int n, int[] sel, int[] aOff, int[] bOff) {}

    /** Which modules of {@code ms} carry an adapter in layer l, in order. */
    private Targets targeted(int l, TargetModule[] ms) {
        int[] sel = new int[ms.length];
        int[] aOff = new int[ms.length];
        int[] bOff = new int[ms.length];
        int n = 0;
        for (int i = 0; i < ms.length; i++) {
            AdapterLayout.Tensor ta = layout.find(l, ms[i], true);
            if (ta == null) continue;
            sel[n] = i;
            aOff[n] = ta.offset();
            bOff[n] = layout.find(l, ms[i], false).offset();
            n++;
        }
        return new Targets(n, sel, aOff, bOff);
    }

    /** The A factors (R, IN) of the selected modules stacked into {@link #aCat} (nt*R, IN). */
    private float[] stackA(float[] params, int[] aOff, int nt, int R, int IN) {
        for (int j = 0; j < nt; j++) System.arraycopy(params, aOff[j], aCat, j * R * IN, R * IN);
        return aCat;
    }

    /**
     * The projections {@code ms} of group g, all reading x: {@code y_i = x W_i^T (+ b_i) + s B_i A_i dropout_i(x)}.
     * The LoRA up-projection is added by the frozen product in its one pass over y ({@link Kernels.LowRank}); u of
     * the targeted modules is cached side by side in {@code c.u[g]}.
     */
    private void projForward(
            int l,
            int g,
            FrozenLinear[] lins,
            float[][] ys,
            float[] x,
            LayerActs c,
            float[] params,
            long seed,
            boolean drop,
            int N) {
        TargetModule[] ms = GROUPS[g];
        Targets tg = targeted(l, ms);
        int nt = tg.n();
        int[] sel = tg.sel(), aOff = tg.aOff(), bOff = tg.bOff();
        int R = spec.r();
        int IN = lins[0].inFeatures();
        int W = nt * R;
        float[] u = c.u[g];
        if (nt > 0 && !drop) {
            // u (N, W) = x [A_1; ...; A_nt]^T
            float[] a = nt == 1 ? params : stackA(params, aOff, nt, R, IN);
            kern.sgemm(false, true, N, W, IN, 1f, x, 0, IN, a, nt == 1 ? aOff[0] : 0, IN, 0f, u, 0, W);
        } else if (nt > 0) {
            for (int j = 0; j < nt; j++) {
                Dropout.forward(xdBuf, x, N * IN, spec.dropout(), Dropout.streamSeed(seed, l, ms[sel[j]].ordinal()));
                kern.sgemm(false, true, N, R, IN, 1f, xdBuf, 0, IN, params, aOff[j], IN, 0f, u, j * R, W);
            }
        }
        for (int i = 0, j = 0; i < ms.length; i++) {
            // y_i = x W_i^T + s u_j B_j^T: the LoRA up-projection in the frozen product's pass over y_i
            Kernels.LowRank up = null;
            if (j < nt && sel[j] == i) {
                up = new Kernels.LowRank(R, spec.scaling(), u, j * R, W, true, params, bOff[j], R);
                j++;
            }
            lins[i].forward(kern, ys[i], 0, x, 0, N, up);
        }
    }

    /**
     * Backward of {@link #projForward}: LoRA gradients accumulated into grads; when {@code needDx}, the input
     * gradient {@code dx = sum_i dy_i W_i (+ LoRA terms)} OVERWRITES dx (the group is the only writer of its input
     * gradient). Without dropout the LoRA term {@code du A_cat} is added by the first frozen product in its pass over
     * dx ({@link Kernels.LowRank}).
     */
    private void projBackward(
            int l,
            int g,
            FrozenLinear[] lins,
            float[][] dys,
            float[] dx,
            float[] x,
            LayerActs c,
            float[] params,
            float[] grads,
            long seed,
            boolean drop,
            int N,
            boolean needDx) {
        TargetModule[] ms = GROUPS[g];
        Targets tg = targeted(l, ms);
        int nt = tg.n();
        int[] sel = tg.sel(), aOff = tg.aOff(), bOff = tg.bOff();
        int R = spec.r();
        int IN = lins[0].inFeatures();
        int W = nt * R;
        float[] u = c.u[g];
        float s = spec.scaling();
        boolean dxWritten = false;
        Kernels.LowRank dxLoRA = null;
        if (nt > 0) {
            for (int j = 0; j < nt; j++) {
                float[] dy = dys[sel[j]];
                int out = lins[sel[j]].outFeatures();
                // y += s u B^T  =>  dB += s dy^T u ; du = s dy B (column block j of du)
                kern.sgemm(true, false, out, R, N, s, dy, 0, out, u, j * R, W, 1f, grads, bOff[j], R);
                kern.sgemm(false, false, N, R, out, s, dy, 0, out, params, bOff[j], R, 0f, du, j * R, W);
            }
            if (!drop) {
                // u = x A_cat^T  =>  dA_cat = du^T x, computed transposed (x^T du reads x in place); dx = du A_cat
                kern.sgemm(true, false, IN, W, N, 1f, x, 0, IN, du, 0, W, 0f, daT, 0, W);
                addTransposed(grads, aOff, nt, R, IN, W);
                if (needDx) {
                    // dx = du A_cat, added by the first frozen input gradient in its pass over dx (below)
                    float[] a = nt == 1 ? params : stackA(params, aOff, nt, R, IN);
                    dxLoRA = new Kernels.LowRank(W, 1f, du, 0, W, false, a, nt == 1 ? aOff[0] : 0, IN);
                }
            } else {
                if (needDx) {
                    fill(dx, N * IN);
                    dxWritten = true;
                }
                for (int j = 0; j < nt; j++) {
                    long st = Dropout.streamSeed(seed, l, ms[sel[j]].ordinal());
                    Dropout.forward(xdBuf, x, N * IN, spec.dropout(), st); // regenerate dropout(x)
                    kern.sgemm(true, false, IN, R, N, 1f, xdBuf, 0, IN, du, j * R, W, 0f, daT, j * R, W);
                    if (needDx) {
                        kern.sgemm(false, false, N, IN, R, 1f, du, j * R, W, params, aOff[j], IN, 0f, dxdBuf, 0, IN);
                        Dropout.backward(dx, dxdBuf, N * IN, spec.dropout(), st);
                    }
                }
                addTransposed(grads, aOff, nt, R, IN, W);
            }
        }
        if (!needDx) return;
        // the first module overwrites dx (unless dropout's path wrote it), the others add
        for (int i = 0; i < ms.length; i++) {
            lins[i].backwardInput(kern, dx, 0, dys[i], 0, N, i == 0 ? dxLoRA : null, i > 0 || dxWritten);
        }
    }

    /** grads A_j (R, IN) += the column block j of daT (IN, W), for each selected module j. */
    private void addTransposed(float[] grads, int[] aOff, int nt, int R, int IN, int W) {
        for (int j = 0; j < nt; j++) {
            for (int r = 0; r < R; r++) {
                int ga = aOff[j] + r * IN;
                int col = j * R + r;
                for (int i = 0; i < IN; i++) grads[ga + i] += daT[i * W + col];
            }
        }
    }
}
