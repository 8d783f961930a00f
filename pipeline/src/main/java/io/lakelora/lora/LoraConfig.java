package io.lakelora.lora;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * LoRA hyper-parameters with Hugging Face PEFT's names and semantics ({@code LoraConfig} in peft), bound from YAML with
 * the same snake_case keys that {@code adapter_config.json} carries.
 *
 * <ul>
 *   <li>{@code r} rank, {@code lora_alpha}, {@code use_rslora}: {@link #scaling()} is alpha / r, or alpha / sqrt(r)
 *       with rsLoRA.</li>
 *   <li>{@code lora_dropout} in [0, 1): dropout on the LoRA branch input only.</li>
 *   <li>{@code target_modules}: a list of module names ({@code q_proj} ... {@code down_proj}, or the short {@code q}
 *       ... {@code down}), or {@code all-linear} (all seven linear layers of a decoder block).</li>
 *   <li>{@code init_lora_weights}: {@code true} (default: A kaiming-uniform with a = sqrt(5), B = 0), {@code false}
 *       (A and B both nn.Linear's default kaiming-uniform, B != 0: debugging only), {@code gaussian}
 *       (A ~ N(0, (1/r)^2), B = 0), {@code pissa} (exact SVD of the base weight), {@code pissa_niter_N} (randomized
 *       SVD with N subspace iterations), {@code loftq} (alternating NF4 quantization and SVD of the residual,
 *       {@code loftq_iter} rounds).</li>
 *   <li>{@code bias}: only {@code none} is supported (as for QLoRA).</li>
 * </ul>
 * Instances are immutable and validated on construction; a bad value is an {@link IllegalArgumentException} naming
 * the key, the value and the fix.
 */
@JsonAutoDetect(
        fieldVisibility = JsonAutoDetect.Visibility.ANY,
        getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE)
public final class LoraConfig implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    /** The value of {@code target_modules} that selects every linear layer of the block. */
    public static final String ALL_LINEAR = "all-linear";

    /** How the adapter is initialised (parsed from {@code init_lora_weights}). */
    public enum InitKind {
        /** {@code true}: A kaiming-uniform(a = sqrt(5)), B = 0 (the adapter starts as the identity). */
        KAIMING,
        /** {@code false}: A and B both keep nn.Linear's default init, so B != 0 (for debugging and tests). */
        LINEAR_DEFAULT,
        /** {@code gaussian}: A ~ N(0, (1/r)^2), B = 0. */
        GAUSSIAN,
        /** {@code pissa}: exact SVD of the base weight. */
        PISSA,
        /** {@code pissa_niter_N}: randomized SVD with N subspace iterations. */
        PISSA_NITER,
        /** {@code loftq}: alternating NF4 quantization and SVD of the residual. */
        LOFTQ;

        /**
         * Whether this init rewrites the frozen base (PiSSA's residual {@code W - s B0 A0}, LoftQ's {@code deq(Q)}), so
         * that the trained adapter fits only that rewritten base until it is converted to a plain LoRA.
         */
        public boolean rewritesBase() {
            return this == PISSA || this == PISSA_NITER || this == LOFTQ;
        }
    }

    @JsonProperty("r")
    private final int r;

    @JsonProperty("lora_alpha")
    private final double loraAlpha;

    @JsonProperty("lora_dropout")
    private final double loraDropout;

    @JsonProperty("target_modules")
    private final List<String> targetModules;

    @JsonProperty("use_rslora")
    private final boolean useRslora;

    @JsonProperty("init_lora_weights")
    private final Object initLoraWeights;

    @JsonProperty("loftq_iter")
    private final int loftqIter;

    @JsonProperty("bias")
    private final String bias;

    private final transient Set<TargetModule> targets;
    private final transient InitKind initKind;
    private final transient int pissaNiter;

    /**
     * Binding constructor: a null argument takes PEFT's default (r 8, lora_alpha 8, lora_dropout 0, target_modules
     * q_proj and v_proj, use_rslora false, init_lora_weights true, loftq_iter 1, bias none).
     */
    @JsonCreator
    public LoraConfig(
            @JsonProperty("r") Integer r,
            @JsonProperty("lora_alpha") Double loraAlpha,
            @JsonProperty("lora_dropout") Double loraDropout,
            @JsonProperty("target_modules") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
                    List<String> targetModules,
            @JsonProperty("use_rslora") Boolean useRslora,
            @JsonProperty("init_lora_weights") Object initLoraWeights,
            @JsonProperty("loftq_iter") Integer loftqIter,
            @JsonProperty("bias") String bias) {
        this.r = r == null ? 8 : r;
        this.loraAlpha = loraAlpha == null ? 8.0 : loraAlpha;
        this.loraDropout = loraDropout == null ? 0.0 : loraDropout;
        this.targetModules = targetModules == null
                ? List.of("q_proj", "v_proj")
                : Collections.unmodifiableList(new ArrayList<>(targetModules));
        this.useRslora = useRslora != null && useRslora;
        this.initLoraWeights = initLoraWeights == null ? Boolean.TRUE : initLoraWeights;
        this.loftqIter = loftqIter == null ? 1 : loftqIter;
        this.bias = bias == null ? "none" : bias;

        if (this.r <= 0) {
            throw new IllegalArgumentException("lora.r must be a positive integer (the LoRA rank), got " + this.r
                    + ". Fix: set r to e.g. 8, 16 or 64");
        }
        if (!(this.loraAlpha > 0) || Double.isInfinite(this.loraAlpha)) {
            throw new IllegalArgumentException("lora.lora_alpha must be > 0 (scaling = lora_alpha / r), got "
                    + this.loraAlpha + ". Fix: set lora_alpha to e.g. 16");
        }
        if (!(this.loraDropout >= 0 && this.loraDropout < 1)) {
            throw new IllegalArgumentException("lora.lora_dropout must be in [0, 1), got " + this.loraDropout
                    + ". Fix: use 0 (off) or a probability such as 0.05");
        }
        if (!"none".equals(this.bias)) {
            throw new IllegalArgumentException("lora.bias '" + this.bias + "' is not supported: only 'none' (no "
                    + "trainable biases, as QLoRA and vLLM expect). Fix: set bias: none");
        }
        if (this.loftqIter <= 0) {
            throw new IllegalArgumentException("lora.loftq_iter must be >= 1, got " + this.loftqIter);
        }
        this.targets = parseTargets(this.targetModules);
        int[] niter = new int[1];
        this.initKind = parseInit(this.initLoraWeights, niter);
        this.pissaNiter = niter[0];
    }

    /** Java serialization (Spark closures): rebuild through the validating constructor, which derives the rest. */
    private Object readResolve() {
        return new LoraConfig(r, loraAlpha, loraDropout, targetModules, useRslora, initLoraWeights, loftqIter, bias);
    }

    /** A config with the given rank, alpha and targets, PEFT defaults otherwise. */
    public static LoraConfig of(int r, double alpha, List<String> targetModules) {
        return new LoraConfig(r, alpha, null, targetModules, null, null, null, null);
    }

    /** A copy with another {@code init_lora_weights} value (Boolean or String, as in PEFT). */
    public LoraConfig withInit(Object init) {
        return new LoraConfig(r, loraAlpha, loraDropout, targetModules, useRslora, init, loftqIter, bias);
    }

    /** A copy with another dropout probability. */
    public LoraConfig withDropout(double p) {
        return new LoraConfig(r, loraAlpha, p, targetModules, useRslora, initLoraWeights, loftqIter, bias);
    }

    /** A copy with rsLoRA scaling switched on or off. */
    public LoraConfig withRslora(boolean on) {
        return new LoraConfig(r, loraAlpha, loraDropout, targetModules, on, initLoraWeights, loftqIter, bias);
    }

    /** A copy with another number of LoftQ rounds. */
    public LoraConfig withLoftqIter(int n) {
        return new LoraConfig(r, loraAlpha, loraDropout, targetModules, useRslora, initLoraWeights, n, bias);
    }

    private static Set<TargetModule> parseTargets(List<String> names) {
        if (names.isEmpty()) {
            throw new IllegalArgumentException("lora.target_modules is empty. Fix: name the modules to adapt, e.g. "
                    + "[q_proj, v_proj], or use all-linear");
        }
        EnumSet<TargetModule> set = EnumSet.noneOf(TargetModule.class);
        for (String n : names) {
            if (n == null) throw new IllegalArgumentException("lora.target_modules contains a null entry");
            String name = n.trim();
            if (ALL_LINEAR.equals(name)) {
                set.addAll(EnumSet.allOf(TargetModule.class));
                continue;
            }
            try {
                set.add(TargetModule.parse(name));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("lora.target_modules: " + e.getMessage(), e);
            }
        }
        return Collections.unmodifiableSet(set);
    }

    private static InitKind parseInit(Object v, int[] niter) {
        if (v instanceof Boolean b) return b ? InitKind.KAIMING : InitKind.LINEAR_DEFAULT;
        if (v instanceof String s) {
            String t = s.trim();
            if (t.equalsIgnoreCase("true")) return InitKind.KAIMING;
            if (t.equalsIgnoreCase("false")) return InitKind.LINEAR_DEFAULT;
            if (t.equalsIgnoreCase("gaussian")) return InitKind.GAUSSIAN;
            if (t.equals("pissa")) return InitKind.PISSA;
            if (t.equals("loftq")) return InitKind.LOFTQ;
            if (t.startsWith("pissa_niter_")) {
                String num = t.substring("pissa_niter_".length());
                try {
                    niter[0] = Integer.parseInt(num);
                } catch (NumberFormatException e) {
                    niter[0] = -1;
                }
                if (niter[0] < 0) {
                    throw new IllegalArgumentException("lora.init_lora_weights '" + s + "': the iteration count after "
                            + "pissa_niter_ must be a non-negative integer, e.g. pissa_niter_4");
                }
                return InitKind.PISSA_NITER;
            }
        }
        throw new IllegalArgumentException("lora.init_lora_weights has value '" + v + "', expected true, false, "
                + "gaussian, pissa, pissa_niter_N or loftq");
    }

    public int r() {
        return r;
    }

    public double loraAlpha() {
        return loraAlpha;
    }

    public double loraDropout() {
        return loraDropout;
    }

    /** The names as configured (may contain {@code all-linear}). */
    public List<String> targetModules() {
        return targetModules;
    }

    /** The resolved set of target modules ({@code all-linear} expanded). */
    public Set<TargetModule> targets() {
        return targets;
    }

    public boolean useRslora() {
        return useRslora;
    }

    /** The raw {@code init_lora_weights} value (Boolean or String), written back to adapter_config.json. */
    public Object initLoraWeights() {
        return initLoraWeights;
    }

    public InitKind initKind() {
        return initKind;
    }

    /** For {@code pissa_niter_N}: N; 0 otherwise. */
    public int pissaNiter() {
        return pissaNiter;
    }

    public int loftqIter() {
        return loftqIter;
    }

    public String bias() {
        return bias;
    }

    /** The factor on the LoRA branch: {@code lora_alpha / r}, or {@code lora_alpha / sqrt(r)} with rsLoRA. */
    public double scaling() {
        return useRslora ? loraAlpha / Math.sqrt(r) : loraAlpha / r;
    }

    @Override
    public String toString() {
        return "LoraConfig{r=" + r + ", lora_alpha=" + loraAlpha + ", lora_dropout=" + loraDropout
                + ", target_modules=" + targetModules + ", use_rslora=" + useRslora + ", init_lora_weights="
                + initLoraWeights + ", loftq_iter=" + loftqIter + ", bias=" + bias + "}";
    }
}
