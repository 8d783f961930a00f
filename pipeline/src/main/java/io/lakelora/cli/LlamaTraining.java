package io.lakelora.cli;

import io.lakelora.kernel.KernelProvider;
import io.lakelora.kernel.Kernels;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.AdapterState;
import io.lakelora.lora.BaseWeightAccess;
import io.lakelora.lora.LoraConfig;
import io.lakelora.lora.LoraInit;
import io.lakelora.lora.QuantRoundTrip;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.LayerWeights;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.LoraLlama;
import io.lakelora.model.LoraSpec;
import io.lakelora.model.ModelDir;
import io.lakelora.model.WeightQuantizer;
import io.lakelora.model.nn.FrozenLinear;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.quant.QuantType;
import io.lakelora.quant.Quantizer;
import io.lakelora.train.TrainConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the LoRA LLaMA model of a {@code train-local} run: loads the base (quantized to NF4 as it is read, QLoRA's
 * way, or fp32), initialises the adapter, and for PiSSA/LoftQ first loads the base in fp32, lets the init rewrite the
 * adapted weights ({@link BaseWeightAccess} over the loaded layers) and quantizes afterwards, so the residual
 * {@code W - scaling B A} (PiSSA) or LoftQ's {@code deq(Q)} is what the 4-bit base stores.
 */
final class LlamaTraining {
    private LlamaTraining() {}

    static TrainLocalCommand.Built build(ModelDir dir, TrainConfig cfg) {
        LoraConfig lora = cfg.lora();
        WeightQuantizer wq = null;
        if (cfg.quant() == QuantType.NF4) {
            Quantizer q = new Quantizer(QuantType.NF4, Quantizer.DEFAULT_BLOCKSIZE, cfg.doubleQuant());
            wq = q::quantize;
        }
        AdapterLayout layout = PeftAdapter.layoutFor(dir.config(), lora);
        AdapterState s = new AdapterState(layout);
        LlamaWeights weights;
        LoraInit.Report rep;
        LoraConfig.InitKind kind = lora.initKind();
        if (kind == LoraConfig.InitKind.PISSA
                || kind == LoraConfig.InitKind.PISSA_NITER
                || kind == LoraConfig.InitKind.LOFTQ) {
            EditableBase base = new EditableBase(LlamaLoader.load(dir.path(), null), wq);
            rep = LoraInit.initialize(s, lora, cfg.seed(), base, QuantRoundTrip.nf4());
            weights = base.assemble();
        } else {
            weights = LlamaLoader.load(dir.path(), wq);
            rep = LoraInit.initialize(s, lora, cfg.seed(), null, null);
        }
        Kernels kernels = cfg.threads() > 0 ? KernelProvider.withThreads(cfg.threads()) : KernelProvider.get();
        LoraSpec spec = LoraSpec.of(lora.r(), lora.loraAlpha(), lora.useRslora(), lora.loraDropout(), lora.targets());
        return new TrainLocalCommand.Built(new LoraLlama(weights, spec, kernels, false), s.params(), rep);
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
