package io.lakelora.model;

import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.nn.Dropout;
import io.lakelora.model.nn.FrozenLinear;
import io.lakelora.train.Batch;

/**
 * An independent DOUBLE-precision forward of a LLaMA-family model with LoRA, written straight from Hugging Face's
 * modeling_llama / modeling_qwen3 / modeling_gemma3 and PEFT formulas with plain loops (no shared code with the model
 * under test except the dropout mask function, which defines which elements are dropped). Qwen3 / Gemma 3: q/k RMSNorm
 * per head before RoPE; Gemma 3: embeddings times sqrt(C), norms around attention and MLP, gelu-tanh gate,
 * query_pre_attn_scalar^-0.5 scores, sliding layers with their own window and RoPE base. The oracle for whole-model
 * finite-difference gradient checks.
 */
final class RefLlama {
    private final ModelConfig a;
    private final double[] emb; // (V, C)
    private final double[][][] wts; // [L][module] (OUT, IN)
    private final double[][][] bias; // [L][module] or null
    private final double[][] n1, n2, qn, kn, pa, pm;
    private final double[] nf;
    private final double[] head; // (V, C)
    private final LoraSpec spec;
    private final AdapterLayout layout;

    RefLlama(LlamaWeights w, LoraSpec spec) {
        this.a = w.arch();
        this.spec = spec;
        this.layout = spec.layout(a);
        emb = d(w.embedding());
        int L = a.numLayers();
        int M = TargetModule.values().length;
        wts = new double[L][M][];
        bias = new double[L][M][];
        n1 = new double[L][];
        n2 = new double[L][];
        qn = new double[L][];
        kn = new double[L][];
        pa = new double[L][];
        pm = new double[L][];
        for (int l = 0; l < L; l++) {
            for (TargetModule m : TargetModule.values()) {
                FrozenLinear lin = w.layer(l).linear(m);
                wts[l][m.ordinal()] = d(lin.weightFp32());
                bias[l][m.ordinal()] = lin.bias() == null ? null : d(lin.bias());
            }
            n1[l] = d(w.layer(l).attnNorm());
            n2[l] = d(w.layer(l).mlpNorm());
            qn[l] = w.layer(l).qNorm() == null ? null : d(w.layer(l).qNorm());
            kn[l] = w.layer(l).kNorm() == null ? null : d(w.layer(l).kNorm());
            pa[l] = w.layer(l).postAttnNorm() == null ? null : d(w.layer(l).postAttnNorm());
            pm[l] = w.layer(l).postMlpNorm() == null ? null : d(w.layer(l).postMlpNorm());
        }
        nf = d(w.finalNorm());
        head = d(w.lmHead().weightFp32());
    }

    static double[] d(float[] x) {
        double[] r = new double[x.length];
        for (int i = 0; i < x.length; i++) r[i] = x[i];
        return r;
    }

    /** Sum of token cross-entropies over the batch (labels shifted inside, -100 ignored). */
    double loss(double[] params, Batch batch, long seed, boolean dropout) {
        int T = batch.seqLen();
        double total = 0;
        for (int b = 0; b < batch.batchSize(); b++) {
            total += sequenceLoss(params, batch, b, T, seed, dropout);
        }
        return total;
    }

    private double sequenceLoss(double[] p, Batch batch, int b, int T, long seed, boolean dropout) {
        int C = a.hiddenSize();
        int[] ids = batch.inputIds()[b];
        int[] pos = new int[T];
        int[] docStart = new int[T];
        int s = 0;
        for (int t = 0; t < T; t++) {
            pos[t] = batch.positionIds() == null ? t : batch.positionIds()[b][t];
            if (batch.positionIds() != null && pos[t] == 0) s = t;
            docStart[t] = s;
        }
        boolean gemma = a.architecture() == Architecture.GEMMA3;
        double[][] x = new double[T][];
        for (int t = 0; t < T; t++) {
            x[t] = java.util.Arrays.copyOfRange(emb, ids[t] * C, ids[t] * C + C);
            // Gemma3TextScaledWordEmbedding: times sqrt(hidden_size) as a float32 tensor
            if (gemma) for (int c = 0; c < C; c++) x[t][c] *= (float) Math.sqrt(C);
        }
        for (int l = 0; l < a.numLayers(); l++) {
            // the layer's window: Mistral slides every layer, Gemma 3 its "sliding_attention" layers
            boolean slides = a.slidingWindow() != null && (a.slidingLayers() == null || a.slidingLayers()[l]);
            int[] start = new int[T];
            for (int t = 0; t < T; t++) {
                start[t] = slides ? Math.max(docStart[t], t - a.slidingWindow() + 1) : docStart[t];
            }
            // Gemma 3's sliding layers: rope_local_base_freq, unscaled
            boolean local = gemma && a.slidingLayers()[l];
            double[][] h = new double[T][];
            for (int t = 0; t < T; t++) h[t] = rms(x[t], n1[l]);
            double[][] q = lin(p, l, TargetModule.Q, h, b, T, seed, dropout);
            double[][] k = lin(p, l, TargetModule.K, h, b, T, seed, dropout);
            double[][] v = lin(p, l, TargetModule.V, h, b, T, seed, dropout);
            for (int t = 0; t < T; t++) {
                if (qn[l] != null) { // q_norm / k_norm: RMSNorm over head_dim per head, before RoPE
                    headRms(q[t], qn[l]);
                    headRms(k[t], kn[l]);
                }
                rope(q[t], a.numHeads(), pos[t], local);
                rope(k[t], a.numKvHeads(), pos[t], local);
            }
            double[][] att = attention(q, k, v, start, T);
            double[][] o = lin(p, l, TargetModule.O, att, b, T, seed, dropout);
            if (pa[l] != null) for (int t = 0; t < T; t++) o[t] = rms(o[t], pa[l]);
            for (int t = 0; t < T; t++) for (int c = 0; c < C; c++) x[t][c] += o[t][c];
            for (int t = 0; t < T; t++) h[t] = rms(x[t], n2[l]);
            double[][] g = lin(p, l, TargetModule.GATE, h, b, T, seed, dropout);
            double[][] u = lin(p, l, TargetModule.UP, h, b, T, seed, dropout);
            for (int t = 0; t < T; t++) {
                for (int f = 0; f < a.intermediateSize(); f++) {
                    double z = g[t][f];
                    double act = gemma
                            ? 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z * z * z)))
                            : z / (1 + Math.exp(-z));
                    g[t][f] = act * u[t][f];
                }
            }
            double[][] dn = lin(p, l, TargetModule.DOWN, g, b, T, seed, dropout);
            if (pm[l] != null) for (int t = 0; t < T; t++) dn[t] = rms(dn[t], pm[l]);
            for (int t = 0; t < T; t++) for (int c = 0; c < C; c++) x[t][c] += dn[t][c];
        }
        double total = 0;
        int[] labels = batch.labels()[b];
        for (int t = 0; t + 1 < T; t++) {
            int target = labels[t + 1];
            if (target == Batch.IGNORE_INDEX) continue;
            double[] h = rms(x[t], nf);
            double[] z = new double[a.vocabSize()];
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < a.vocabSize(); v++) {
                for (int c = 0; c < C; c++) z[v] += h[c] * head[v * C + c];
                max = Math.max(max, z[v]);
            }
            double sum = 0;
            for (double zv : z) sum += Math.exp(zv - max);
            total += max + Math.log(sum) - z[target];
        }
        return total;
    }

    private double[] rms(double[] x, double[] w) {
        double ss = 0;
        for (double v : x) ss += v * v;
        double r = 1 / Math.sqrt(ss / x.length + (float) a.rmsNormEps());
        double[] o = new double[x.length];
        for (int i = 0; i < x.length; i++) o[i] = w[i] * x[i] * r;
        return o;
    }

    /** y = x W^T + b + scaling * B A dropout(x) (PEFT LoRA Linear). Dropout index = flattened (b*T + t) * IN + i. */
    private double[][] lin(double[] p, int l, TargetModule m, double[][] x, int b, int T, long seed, boolean dropout) {
        double[] w = wts[l][m.ordinal()];
        double[] bs = bias[l][m.ordinal()];
        int IN = x[0].length;
        int OUT = w.length / IN;
        AdapterLayout.Tensor ta = layout.find(l, m, true);
        AdapterLayout.Tensor tb = layout.find(l, m, false);
        double[][] y = new double[T][OUT];
        for (int t = 0; t < T; t++) {
            for (int o = 0; o < OUT; o++) {
                double s = bs == null ? 0 : bs[o];
                for (int i = 0; i < IN; i++) s += x[t][i] * w[o * IN + i];
                y[t][o] = s;
            }
            if (ta == null) continue;
            double[] xd = x[t].clone();
            if (dropout && spec.dropout() > 0) {
                long stream = Dropout.streamSeed(seed, l, m.ordinal());
                for (int i = 0; i < IN; i++) {
                    long idx = ((long) b * T + t) * IN + i;
                    xd[i] = Dropout.keep(stream, idx, spec.dropout()) ? xd[i] / (1.0 - spec.dropout()) : 0;
                }
            }
            int R = spec.r();
            double[] u = new double[R];
            for (int j = 0; j < R; j++) for (int i = 0; i < IN; i++) u[j] += xd[i] * p[ta.offset() + j * IN + i];
            for (int o = 0; o < OUT; o++) {
                double s = 0;
                for (int j = 0; j < R; j++) s += u[j] * p[tb.offset() + o * R + j];
                y[t][o] += spec.scaling() * s;
            }
        }
        return y;
    }

    /** Each head of x (NHx * HS) normalized over HS with weight w, in place. */
    private void headRms(double[] x, double[] w) {
        int HS = a.headDim();
        for (int h = 0; h < x.length / HS; h++) {
            double[] o = rms(java.util.Arrays.copyOfRange(x, h * HS, (h + 1) * HS), w);
            System.arraycopy(o, 0, x, h * HS, HS);
        }
    }

    private void rope(double[] x, int heads, int pos, boolean local) {
        int HS = a.headDim();
        int half = HS / 2;
        double[] inv = new double[half];
        // HF: inv_freq = 1 / base^(arange(0, HS, 2) / HS) in float32 (then / factor for linear scaling)
        double base = local ? a.ropeLocalTheta() : a.ropeTheta();
        for (int i = 0; i < half; i++) {
            float f = 1.0f / (float) Math.pow((float) base, (float) (2 * i) / (float) HS);
            if (!local && a.ropeScaling().type() == RopeScaling.Type.LINEAR)
                f = f / (float) a.ropeScaling().factor();
            inv[i] = f;
        }
        if (!local && a.ropeScaling().type() == RopeScaling.Type.LLAMA3) inv = a.ropeInvFreq();
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                double angle = (float) pos * (float) inv[i];
                double c = Math.cos(angle);
                double s = Math.sin(angle);
                double x1 = x[h * HS + i];
                double x2 = x[h * HS + i + half];
                x[h * HS + i] = x1 * c - x2 * s;
                x[h * HS + i + half] = x2 * c + x1 * s;
            }
        }
    }

    private double[][] attention(double[][] q, double[][] k, double[][] v, int[] start, int T) {
        int NH = a.numHeads();
        int HS = a.headDim();
        int rep = NH / a.numKvHeads();
        double[][] out = new double[T][NH * HS];
        for (int h = 0; h < NH; h++) {
            int kv = h / rep;
            for (int i = 0; i < T; i++) {
                double[] sc = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = start[i]; j <= i; j++) {
                    double d = 0;
                    for (int e = 0; e < HS; e++) d += q[i][h * HS + e] * k[j][kv * HS + e];
                    sc[j] = d / Math.sqrt(a.queryPreAttnScalar()); // query_pre_attn_scalar^-0.5 (HS but Gemma 3)
                    max = Math.max(max, sc[j]);
                }
                double sum = 0;
                for (int j = start[i]; j <= i; j++) sum += (sc[j] = Math.exp(sc[j] - max));
                for (int j = start[i]; j <= i; j++) {
                    for (int e = 0; e < HS; e++) out[i][h * HS + e] += sc[j] / sum * v[j][kv * HS + e];
                }
            }
        }
        return out;
    }
}
