package io.lakelora.model;

import io.lakelora.kernel.Kernels;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.nn.Attention;
import io.lakelora.model.nn.FrozenLinear;
import io.lakelora.model.nn.GeluTanhGate;
import io.lakelora.model.nn.HeadRmsNorm;
import io.lakelora.model.nn.LmHeadLoss;
import io.lakelora.model.nn.Lora;
import io.lakelora.model.nn.RmsNorm;
import io.lakelora.model.nn.Rope;
import io.lakelora.model.nn.SwiGlu;

/**
 * Inference over one sequence with a KV cache: a prompt is processed as chunks of up to {@code chunk} tokens at once
 * (every linear layer one GEMM over the chunk), then generation feeds one token at a time. An optional LoRA adapter
 * adds {@code scaling * B A x} to each targeted layer. The family pieces are {@link LoraLlama}'s (q/k norms, Gemma 3's
 * scaled embeddings, sandwich norms, gelu-tanh gate, query scale, per-layer windows and RoPE bases). Not thread-safe;
 * buffers are allocated once.
 */
public final class LlamaSession {
    private final LlamaWeights w;
    private final ModelConfig a;
    private final Kernels kern;
    private final LoraAdapter lora; // or null
    private final Rope rope;
    private final Rope localRope; // Gemma 3's sliding layers', or null
    private final int maxSeq;
    private final int chunk;
    private final float[][] kCache; // L x (maxSeq, KVD)
    private final float[][] vCache;
    private final float[] x, ln, q, att, proj, gate, up, probs, loraU, logits;
    private final float[] qRaw, kRaw; // q/k norm inputs (Qwen3, Gemma 3), or null
    private final int[] pos, lo, loSliding, hi;
    private final LmHeadLoss headLoss;
    private final float eps;
    private final int window; // the sliding layers' window (Mistral: every layer), or Integer.MAX_VALUE
    private final float qScale;
    private int length;

    /**
     * @param lora   adapter to apply, or null
     * @param maxSeq KV cache capacity in tokens (prompt + generated)
     * @param chunk  tokens per forward chunk (prompt processing), e.g. 256
     */
    public LlamaSession(LlamaWeights weights, Kernels kernels, LoraAdapter lora, int maxSeq, int chunk) {
        if (maxSeq <= 0 || chunk <= 0) {
            throw new IllegalArgumentException("maxSeq and chunk must be > 0, got " + maxSeq + " and " + chunk);
        }
        this.w = weights;
        this.a = weights.arch();
        this.kern = kernels;
        this.lora = lora;
        if (lora != null) lora.checkFits(a);
        this.rope = new Rope(a.ropeInvFreq());
        Rope local = null;
        for (int l = 0; l < a.numLayers(); l++) if (a.localRope(l)) local = new Rope(a.ropeInvFreq(l));
        this.localRope = local;
        this.qScale = LoraLlama.queryScale(a);
        this.eps = (float) a.rmsNormEps();
        this.window = a.slidingWindow() == null ? Integer.MAX_VALUE : a.slidingWindow();
        this.maxSeq = maxSeq;
        this.chunk = Math.min(chunk, maxSeq);
        int C = a.hiddenSize();
        int TC = this.chunk;
        kCache = new float[a.numLayers()][Math.multiplyExact(maxSeq, a.kvDim())];
        vCache = new float[a.numLayers()][Math.multiplyExact(maxSeq, a.kvDim())];
        x = new float[TC * C];
        ln = new float[TC * C];
        q = new float[TC * a.qDim()];
        att = new float[TC * a.qDim()];
        proj = new float[TC * C];
        gate = new float[TC * a.intermediateSize()];
        up = new float[TC * a.intermediateSize()];
        probs = new float[Math.multiplyExact(TC, maxSeq)];
        qRaw = a.architecture().qkNorm() ? new float[TC * a.qDim()] : null;
        kRaw = a.architecture().qkNorm() ? new float[TC * a.kvDim()] : null;
        loraU = lora == null ? null : new float[TC * lora.spec().r()];
        logits = new float[a.vocabSize()];
        pos = new int[TC];
        lo = new int[TC];
        loSliding = new int[TC];
        hi = new int[TC];
        headLoss = new LmHeadLoss(C, a.vocabSize());
        rope.ensure(maxSeq);
        if (localRope != null) localRope.ensure(maxSeq);
    }

    /** Tokens in the KV cache. */
    public int length() {
        return length;
    }

    public int capacity() {
        return maxSeq;
    }

    public ModelConfig arch() {
        return a;
    }

    /** Empties the KV cache (the next token is at position 0). */
    public void reset() {
        length = 0;
    }

    /**
     * Appends {@code tokens} to the sequence and returns the logits (V) that predict the next token (a buffer reused by
     * the next call).
     */
    public float[] forward(int[] tokens) {
        if (tokens.length == 0) throw new IllegalArgumentException("forward needs at least one token");
        int done = 0;
        int lastRows = 0;
        while (done < tokens.length) {
            int n = Math.min(chunk, tokens.length - done);
            runChunk(tokens, done, n);
            done += n;
            lastRows = n;
        }
        // ln holds the final-normed rows of the last chunk
        w.lmHead().forward(kern, logits, 0, ln, (lastRows - 1) * a.hiddenSize(), 1);
        return logits;
    }

    /**
     * Scores a whole sequence from an empty cache: the sum of -log p(token[t+1] | token[..t]) in nats over t = 0..n-2, and
     * the number of predicted tokens (n - 1). Resets the cache first.
     */
    public double[] score(int[] tokens) {
        reset();
        int[] targets = new int[chunk];
        double sum = 0;
        int done = 0;
        while (done < tokens.length) {
            int n = Math.min(chunk, tokens.length - done);
            runChunk(tokens, done, n);
            for (int i = 0; i < n; i++) {
                int t = done + i + 1;
                targets[i] = t < tokens.length ? tokens[t] : -1;
            }
            sum += headLoss.forwardBackward(kern, w.lmHead(), null, ln, targets, null, n, 0f);
            done += n;
        }
        return new double[] {sum, Math.max(0, tokens.length - 1)};
    }

    /** Runs tokens[off, off+n) at positions length..length+n-1; leaves the final-normed hidden states in ln. */
    private void runChunk(int[] tokens, int off, int n) {
        if (length + n > maxSeq) {
            throw new IllegalStateException("KV cache full: " + length + " + " + n + " tokens exceed the capacity "
                    + maxSeq + ". Fix: create the session with a larger maxSeq");
        }
        int C = a.hiddenSize();
        int V = a.vocabSize();
        int P = length;
        float embedScale = a.embedScale();
        for (int i = 0; i < n; i++) {
            int tok = tokens[off + i];
            if (tok < 0 || tok >= V) {
                throw new IllegalArgumentException("token id " + tok + " at index " + (off + i) + " is outside the "
                        + "vocabulary [0, " + V + ")");
            }
            System.arraycopy(w.embedding(), tok * C, x, i * C, C);
            if (embedScale != 1f) for (int c = i * C; c < i * C + C; c++) x[c] *= embedScale; // Gemma 3
            pos[i] = P + i;
            lo[i] = 0;
            loSliding[i] = Math.max(0, P + i - window + 1);
            hi[i] = P + i;
        }
        int KVD = a.kvDim();
        int HS = a.headDim();
        boolean qk = a.architecture().qkNorm();
        boolean sandwich = a.sandwichNorms();
        for (int l = 0; l < a.numLayers(); l++) {
            LayerWeights lw = w.layer(l);
            float[] kc = kCache[l];
            float[] vc = vCache[l];
            Rope r = a.localRope(l) ? localRope : rope;
            RmsNorm.forward(kern, ln, 0, null, 0, x, 0, lw.attnNorm(), n, C, eps);
            if (qk) {
                linear(l, TargetModule.Q, lw.q(), qRaw, 0, ln, n);
                linear(l, TargetModule.K, lw.k(), kRaw, 0, ln, n);
                HeadRmsNorm.forward(kern, q, 0, null, 0, qRaw, 0, lw.qNorm(), n, a.numHeads(), HS, eps);
                HeadRmsNorm.forward(kern, kc, P * KVD, null, 0, kRaw, 0, lw.kNorm(), n, a.numKvHeads(), HS, eps);
            } else {
                linear(l, TargetModule.Q, lw.q(), q, 0, ln, n);
                linear(l, TargetModule.K, lw.k(), kc, P * KVD, ln, n);
            }
            linear(l, TargetModule.V, lw.v(), vc, P * KVD, ln, n);
            r.forward(q, 0, pos, 0, n, a.numHeads());
            r.forward(kc, P * KVD, pos, 0, n, a.numKvHeads());
            if (qScale != 1f) for (int i = 0; i < n * a.qDim(); i++) q[i] *= qScale;
            Attention.forward(
                    kern,
                    att,
                    0,
                    probs,
                    0,
                    false,
                    q,
                    0,
                    kc,
                    0,
                    vc,
                    0,
                    a.window(l) == Integer.MAX_VALUE ? lo : loSliding,
                    hi,
                    0,
                    n,
                    P + n,
                    a.numHeads(),
                    a.numKvHeads(),
                    a.headDim());
            linear(l, TargetModule.O, lw.o(), proj, 0, att, n);
            addResidual(proj, lw.postAttnNorm(), n, sandwich);
            RmsNorm.forward(kern, ln, 0, null, 0, x, 0, lw.mlpNorm(), n, C, eps);
            linear(l, TargetModule.GATE, lw.gate(), gate, 0, ln, n);
            linear(l, TargetModule.UP, lw.up(), up, 0, ln, n);
            if (a.geluTanh()) GeluTanhGate.forward(kern, gate, gate, up, 0, n * a.intermediateSize());
            else SwiGlu.forward(kern, gate, gate, up, n * a.intermediateSize());
            linear(l, TargetModule.DOWN, lw.down(), proj, 0, gate, n);
            addResidual(proj, lw.postMlpNorm(), n, sandwich);
        }
        RmsNorm.forward(kern, ln, 0, null, 0, x, 0, w.finalNorm(), n, C, eps);
        length += n;
    }

    /** x += out, or with Gemma 3's sandwich norms x += rmsnorm(out) (through ln, free at this point). */
    private void addResidual(float[] out, float[] postNorm, int n, boolean sandwich) {
        int C = a.hiddenSize();
        float[] add = out;
        if (sandwich) {
            RmsNorm.forward(kern, ln, 0, null, 0, out, 0, postNorm, n, C, eps);
            add = ln;
        }
        for (int i = 0; i < n * C; i++) x[i] += add[i];
    }

    /** y = x W^T (+ b) (+ scaling * B A x when the adapter targets this module). */
    private void linear(int l, TargetModule m, FrozenLinear lin, float[] y, int yOff, float[] in, int n) {
        lin.forward(kern, y, yOff, in, 0, n);
        if (lora == null) return;
        AdapterLayout.Tensor ta = lora.layout().find(l, m, true);
        if (ta == null) return;
        AdapterLayout.Tensor tb = lora.layout().find(l, m, false);
        Lora.forward(
                kern,
                y,
                yOff,
                loraU,
                0,
                in,
                0,
                lora.params(),
                ta.offset(),
                tb.offset(),
                n,
                lin.inFeatures(),
                lin.outFeatures(),
                lora.spec().r(),
                lora.spec().scaling());
    }
}
