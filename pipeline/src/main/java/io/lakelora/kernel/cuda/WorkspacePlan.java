package io.lakelora.kernel.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * The device memory of a training step, planned before anything is allocated: what stays (the frozen base, the LoRA
 * slab and its gradients), what a step needs (the activations each layer keeps for its backward, the gradient
 * buffers, the decode tile and bf16 activations of the frozen products, the LM head's logits chunk, cuBLAS'
 * workspace), and what crosses the bus per step. The activation list is the CPU model's ({@code LoraLlama}'s layer
 * caches), so the device model keeps the same tensors.
 *
 * <p>Dimension letters as in {@code model.nn}: N = B*T token rows, C hidden, F intermediate, NH/NKV heads, HS head
 * size, V vocabulary, L layers. Sizes are bytes.
 */
public record WorkspacePlan(List<Entry> entries, long perLayerBytes, long uploadPerStep, long downloadPerStep) {

    /** Bytes cuBLAS may use as its workspace (NVIDIA's figure for Hopper). */
    public static final long CUBLAS_WORKSPACE = 32L << 20;

    /** Most bytes of one decode tile; a larger weight is decoded in several tiles of rows. */
    public static final long MAX_DECODE_TILE = 64L << 20;

    /** One line of the plan. */
    public record Entry(String name, long bytes) {}

    /**
     * The shape of a step.
     *
     * @param loraFloats  floats of the LoRA parameter slab (the same again for its gradients)
     * @param loraRanks   per layer, the sum of the ranks of the adapted modules (the widths of the cached u = xd A^T)
     * @param maxLoraIn   the widest input of an adapted module (dropout's xd buffers)
     * @param maxLoraRank the largest rank of one adapted module (the du scratch)
     * @param denseBaseFloats fp32 floats of the base that are not quantized (embeddings, norms, a dense LM head)
     * @param lmHeadRows  rows of logits computed at once by the LM head (the chunk)
     */
    public record StepShape(
            int layers,
            int hidden,
            int intermediate,
            int heads,
            int kvHeads,
            int headSize,
            int vocab,
            int batch,
            int seq,
            long loraFloats,
            int loraRanks,
            int maxLoraIn,
            int maxLoraRank,
            boolean dropout,
            boolean recompute,
            FrozenGemm.Mode mode,
            long denseBaseFloats,
            int lmHeadRows) {
        public StepShape {
            if (layers < 1
                    || hidden < 1
                    || intermediate < 1
                    || heads < 1
                    || kvHeads < 1
                    || headSize < 1
                    || vocab < 1
                    || batch < 1
                    || seq < 1
                    || lmHeadRows < 1
                    || heads % kvHeads != 0) {
                throw new IllegalArgumentException(
                        "step shape " + this + ": sizes must be positive and NH a " + "multiple of NKV");
            }
        }
    }

    /** The plan for {@code s} over the frozen weights {@code weights} (their device layouts). */
    public static WorkspacePlan of(StepShape s, List<QuantLayout> weights) {
        long N = (long) s.batch() * s.seq();
        long C = s.hidden(), F = s.intermediate(), qD = (long) s.heads() * s.headSize();
        long kvD = (long) s.kvHeads() * s.headSize();
        long T = s.seq();
        List<Entry> e = new ArrayList<>();
        long quant = 0, largest = 0, widestRow = 0;
        int el = s.mode().type().bytes();
        for (QuantLayout l : weights) {
            quant += l.bytes();
            largest = Math.max(largest, (long) l.rows() * l.cols() * el);
            widestRow = Math.max(widestRow, (long) l.cols() * el);
        }
        e.add(new Entry("base: quantized weights", quant));
        e.add(new Entry("base: dense fp32 (embeddings, norms, dense heads)", 4 * s.denseBaseFloats()));
        e.add(new Entry("lora: parameters and gradients (fp32)", 2 * 4 * s.loraFloats()));
        // per token and layer: ln1, q, k, v, att, res, ln2 (4 C + 2 qD + 2 kvD), gate, up, h (3 F), rstd1, rstd2, u
        long perToken = 4 * C + 2 * qD + 2 * kvD + 3 * F + 2 + s.loraRanks();
        long probs = (long) s.batch() * s.heads() * T * T;
        long perLayer = 4 * (N * perToken + probs);
        int keptLayers = s.recompute() ? 1 : s.layers();
        e.add(new Entry("activations: " + keptLayers + " layer(s) kept for the backward", keptLayers * perLayer));
        e.add(new Entry("activations: residual stream, L+1 rows of (N, C)", 4 * (s.layers() + 1) * N * C));
        // final norm (N, C) + rstd; gradients dresid, dlnf, dln (N, C), dq, datt (N, qD), dk, dv (N, kvD),
        // dgate, dup, dh (N, F), du (N, max rank), dS (B, NH, T, T)
        long grads = N * (C + 1) + 3 * N * C + 2 * N * qD + 2 * N * kvD + 3 * N * F + N * s.maxLoraRank() + probs;
        e.add(new Entry("step: final norm and gradient buffers", 4 * grads));
        if (s.dropout()) e.add(new Entry("step: dropout xd and dxd", 2 * 4 * N * s.maxLoraIn()));
        long tile = Math.max(widestRow, Math.min(largest, MAX_DECODE_TILE));
        e.add(new Entry("frozen products: decode tile", tile));
        if (s.mode() == FrozenGemm.Mode.BF16) {
            long widest = Math.max(Math.max(C, F), Math.max(qD, kvD));
            e.add(new Entry("frozen products: bf16 activations", 2 * N * widest));
        }
        e.add(new Entry("lm head: logits chunk and its losses", (long) s.lmHeadRows() * (4 * s.vocab() + 8 + 4)));
        e.add(new Entry("batch: token ids, positions, windows, targets", 5 * 4 * N));
        e.add(new Entry("rope: cos and sin tables", 2 * 4 * T * (s.headSize() / 2)));
        e.add(new Entry("cuBLAS workspace", CUBLAS_WORKSPACE));
        long up = 4 * s.loraFloats() + 5 * 4 * N;
        long down = 4 * s.loraFloats() + 8;
        return new WorkspacePlan(List.copyOf(e), perLayer, up, down);
    }

    /** The sum of the entries. */
    public long totalBytes() {
        long t = 0;
        for (Entry x : entries) t = Math.addExact(t, x.bytes());
        return t;
    }

    /** The bytes of the entry named {@code name}, or 0. */
    public long bytes(String name) {
        for (Entry x : entries) if (x.name().equals(name)) return x.bytes();
        return 0;
    }

    /**
     * Throws with the plan and the fix unless it fits in {@code freeBytes} (what the device reports free, less a
     * margin the caller keeps for the CUDA context).
     */
    public void requireFits(long freeBytes, String device) {
        long total = totalBytes();
        if (total <= freeBytes) return;
        StringBuilder m = new StringBuilder();
        m.append("the training step needs ")
                .append(gib(total))
                .append(" GiB of device memory, ")
                .append(device)
                .append(" has ")
                .append(gib(freeBytes))
                .append(" GiB free:");
        for (Entry x : entries)
            m.append("\n  ")
                    .append(x.name())
                    .append(": ")
                    .append(gib(x.bytes()))
                    .append(" GiB");
        m.append("\nFix: turn on activation recomputation (keeps one layer's activations), or lower the micro-batch "
                + "or the sequence length");
        throw new IllegalArgumentException(m.toString());
    }

    private static String gib(long b) {
        return String.format(java.util.Locale.ROOT, "%.2f", b / (double) (1L << 30));
    }
}
