package io.lakelora.lora;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The layout of all LoRA parameters in ONE flat slab (llm.c style): parameters, gradients and both AdamW moments are
 * separate {@code float[]} of identical layout, so averaging gradients across executors is one array sum and a checkpoint
 * is one write. Order: layer 0..L-1, then target modules in {@link TargetModule} order, then A before B.
 *
 * <p>Shapes follow PEFT: {@code lora_A.weight} is [r, in], {@code lora_B.weight} is [out, r], both row-major.
 */
public final class AdapterLayout {

    /** One named view into the slab. */
    public record Tensor(String peftKey, int layer, TargetModule module, boolean isA, int rows, int cols, int offset) {
        public int size() {
            return rows * cols;
        }
    }

    private final int numLayers;
    private final int r;
    private final Set<TargetModule> targets;
    private final List<Tensor> tensors;
    private final Tensor[] index; // [layer * 7 * 2 + module * 2 + (isA ? 0 : 1)]
    private final int size;

    /**
     * @param hidden C (model width), qDim NH*HS, kvDim NKV*HS, ffn intermediate size
     */
    public AdapterLayout(int numLayers, int hidden, int qDim, int kvDim, int ffn, int r, Set<TargetModule> targets) {
        if (r <= 0) throw new IllegalArgumentException("LoRA rank r must be > 0, got " + r);
        if (targets.isEmpty()) throw new IllegalArgumentException("LoRA needs at least one target module");
        this.numLayers = numLayers;
        this.r = r;
        this.targets = Collections.unmodifiableSet(EnumSet.copyOf(targets));
        List<Tensor> list = new ArrayList<>();
        Tensor[] idx = new Tensor[numLayers * TargetModule.values().length * 2];
        long off = 0;
        for (int l = 0; l < numLayers; l++) {
            for (TargetModule m : TargetModule.values()) {
                if (!targets.contains(m)) continue;
                int in = inFeatures(m, hidden, qDim, ffn);
                int out = outFeatures(m, hidden, qDim, kvDim, ffn);
                String base = "base_model.model." + m.modulePath(l);
                Tensor a = new Tensor(base + ".lora_A.weight", l, m, true, r, in, Math.toIntExact(off));
                off += (long) r * in;
                Tensor b = new Tensor(base + ".lora_B.weight", l, m, false, out, r, Math.toIntExact(off));
                off += (long) out * r;
                list.add(a);
                list.add(b);
                idx[(l * TargetModule.values().length + m.ordinal()) * 2] = a;
                idx[(l * TargetModule.values().length + m.ordinal()) * 2 + 1] = b;
            }
        }
        this.tensors = Collections.unmodifiableList(list);
        this.index = idx;
        this.size = Math.toIntExact(off);
    }

    public static int inFeatures(TargetModule m, int hidden, int qDim, int ffn) {
        return switch (m) {
            case Q, K, V, GATE, UP -> hidden;
            case O -> qDim;
            case DOWN -> ffn;
        };
    }

    public static int outFeatures(TargetModule m, int hidden, int qDim, int kvDim, int ffn) {
        return switch (m) {
            case Q -> qDim;
            case K, V -> kvDim;
            case O, DOWN -> hidden;
            case GATE, UP -> ffn;
        };
    }

    public int numLayers() {
        return numLayers;
    }

    public int rank() {
        return r;
    }

    public Set<TargetModule> targets() {
        return targets;
    }

    public List<Tensor> tensors() {
        return tensors;
    }

    /** Total number of floats in the slab. */
    public int size() {
        return size;
    }

    /** The view for (layer, module, A or B), or null when the module is not targeted. */
    public Tensor find(int layer, TargetModule module, boolean isA) {
        return index[(layer * TargetModule.values().length + module.ordinal()) * 2 + (isA ? 0 : 1)];
    }
}
