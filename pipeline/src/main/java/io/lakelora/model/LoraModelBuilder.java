package io.lakelora.model;

import io.lakelora.kernel.KernelProvider;
import io.lakelora.kernel.Kernels;
import io.lakelora.lora.AdapterState;
import io.lakelora.lora.BaseWeightAccess;
import io.lakelora.lora.LoraConfig;
import io.lakelora.lora.LoraInit;
import io.lakelora.lora.QuantRoundTrip;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.nn.FrozenLinear;
import io.lakelora.quant.QuantType;
import io.lakelora.quant.Quantizer;
import io.lakelora.train.TrainableModel;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The one model builder of training: a base directory in Hugging Face layout plus a {@link Spec} gives a trainable
 * LoRA model. {@code train-local} and job 03's executors both build through here, so the base is quantized the same
 * way (bitsandbytes' NF4/FP4 with double quantization, or int8, or fp32) and the model is the same.
 */
public final class LoraModelBuilder {
    private LoraModelBuilder() {}

    /**
     * What the model is: the base's quantization, the LoRA section, kernel threads (0 = all cores, or the task's CPUs
     * where the caller decides) and activation recomputation. Immutable and serializable: Spark ships it whole to the
     * executors.
     */
    public record Spec(QuantType quant, boolean doubleQuant, LoraConfig lora, int threads, boolean recompute)
            implements Serializable {
        public Spec {
            if (quant == null || lora == null) throw new IllegalArgumentException("quant and lora are required");
            if (threads < 0) throw new IllegalArgumentException("threads must be >= 0, got " + threads);
        }

        /** train-local's spec: its {@code quant}, {@code double_quant}, {@code lora} and {@code threads} keys. */
        public static Spec of(io.lakelora.train.TrainConfig cfg) {
            return new Spec(cfg.quant(), cfg.doubleQuant(), cfg.lora(), cfg.threads(), false);
        }

        /** The same spec with another thread count. */
        public Spec withThreads(int t) {
            return new Spec(quant, doubleQuant, lora, t, recompute);
        }

        public LoraSpec loraSpec() {
            return LoraSpec.of(lora);
        }

        /** The quantizer applied to the base's linears as they are read; null for an fp32 base. */
        public WeightQuantizer quantizer() {
            if (quant == QuantType.NONE) return null;
            // double quantization applies to the 4-bit formats only
            Quantizer q = new Quantizer(quant, Quantizer.DEFAULT_BLOCKSIZE, doubleQuant && quant != QuantType.INT8);
            return q::quantize;
        }

        Kernels kernels() {
            return threads > 0 ? KernelProvider.withThreads(threads) : KernelProvider.get();
        }
    }

    /** A model ready to train and its initialised adapter (with the PiSSA/LoftQ init report, else plain). */
    public record Built(TrainableModel model, float[] initialParams, LoraInit.Report initReport) {}

    /** The frozen base, quantized as it is read. Only for inits that leave the base alone (true, gaussian). */
    public static LlamaWeights loadBase(Path dir, Spec spec) {
        if (spec.lora().initKind().rewritesBase()) {
            throw new IllegalArgumentException(
                    "lora.init_lora_weights = " + spec.lora().initLoraWeights()
                            + " rewrites the base while initialising: build the model with LoraModelBuilder.build");
        }
        return LlamaLoader.load(dir, spec.quantizer());
    }

    /** A LoRA model over an already loaded base (shared by every task of an executor). */
    public static TrainableModel newModel(LlamaWeights base, Spec spec) {
        return new LoraLlama(base, spec.loraSpec(), spec.kernels(), spec.recompute());
    }

    /**
     * Loads the base, initialises the adapter with {@code seed}, and assembles the model. For PiSSA/LoftQ the base is
     * loaded in fp32, the init rewrites the adapted weights ({@link BaseWeightAccess}) and they are quantized
     * afterwards, so the residual {@code W - scaling B A} (PiSSA) or LoftQ's {@code deq(Q)} is what the 4-bit base
     * stores. Deterministic: the same directory, spec and seed give the same model and adapter.
     */
    public static Built build(Path dir, Spec spec, long seed) {
        LoraConfig lora = spec.lora();
        AdapterState s = new AdapterState(spec.loraSpec().layout(LlamaLoader.config(dir)));
        LlamaWeights weights;
        LoraInit.Report rep;
        if (lora.initKind().rewritesBase()) {
            EditableBase base = new EditableBase(LlamaLoader.load(dir, null), spec.quantizer());
            rep = LoraInit.initialize(s, lora, seed, base, QuantRoundTrip.nf4());
            weights = base.assemble();
        } else {
            weights = LlamaLoader.load(dir, spec.quantizer());
            rep = LoraInit.initialize(s, lora, seed, null, null);
        }
        return new Built(newModel(weights, spec), s.params(), rep);
    }

    /** The loaded layers with replaceable linears; untouched fp32 linears are quantized when assembled. */
    static final class EditableBase implements BaseWeightAccess {
        private final LlamaWeights src;
        private final WeightQuantizer quantizer;
        private final FrozenLinear[][] lin;

        EditableBase(LlamaWeights src, WeightQuantizer quantizer) {
            this.src = src;
            this.quantizer = quantizer;
            this.lin = new FrozenLinear[src.layers().size()][TargetModule.values().length];
            for (int l = 0; l < lin.length; l++) {
                for (TargetModule m : TargetModule.values())
                    lin[l][m.ordinal()] = src.layer(l).linear(m);
            }
        }

        @Override
        public float[] dequantized(int layer, TargetModule module) {
            return lin[layer][module.ordinal()].weightFp32();
        }

        @Override
        public void replace(int layer, TargetModule module, float[] w) {
            lin[layer][module.ordinal()] = store(lin[layer][module.ordinal()], w);
        }

        private FrozenLinear store(FrozenLinear old, float[] w) {
            int out = old.outFeatures();
            int in = old.inFeatures();
            return quantizer == null
                    ? FrozenLinear.dense(out, in, w, old.bias())
                    : FrozenLinear.quantized(quantizer.quantize(w, out, in), old.bias());
        }

        LlamaWeights assemble() {
            List<LayerWeights> layers = new ArrayList<>();
            for (int l = 0; l < lin.length; l++) {
                FrozenLinear[] x = lin[l];
                for (int i = 0; i < x.length; i++) {
                    if (quantizer != null && !x[i].isQuantized()) x[i] = store(x[i], x[i].weightFp32());
                }
                layers.add(src.layer(l).withLinears(x)); // the norms (q/k and sandwich norms too) as loaded
            }
            return new LlamaWeights(src.arch(), src.embedding(), layers, src.finalNorm(), src.lmHead());
        }
    }
}
