package io.lakelora.model;

import io.lakelora.kernel.KernelProvider;
import io.lakelora.kernel.Kernels;
import io.lakelora.lora.AdapterState;
import io.lakelora.lora.TargetModule;
import io.lakelora.quant.Quantizer;
import io.lakelora.train.Batch;
import io.lakelora.train.LossSum;
import io.lakelora.train.LrSchedule;
import io.lakelora.train.OptimizerConfig;
import io.lakelora.train.OptimizerStep;
import io.lakelora.util.Assets;
import java.util.EnumSet;
import java.util.SplittableRandom;

/**
 * Child-process entry for {@link ScalarBackendTest}: one QLoRA training step of stories260K (NF4 + double-quant base,
 * LoRA r=4 on all seven linears) with the kernels {@link KernelProvider} picks, forward + backward + AdamW update, then
 * the loss again after the update. Prints one line {@code kernels=... vectorModule=... loss=... lossAfter=...}.
 */
public final class ScalarStepProbe {
    private ScalarStepProbe() {}

    public static void main(String[] args) {
        Kernels kern = KernelProvider.get();
        LlamaWeights w = LlamaLoader.load(Assets.require("models/stories260K-hf"), Quantizer.qlora()::quantize);
        LoraSpec spec = LoraSpec.of(4, 8.0, false, 0.0, EnumSet.allOf(TargetModule.class));
        LoraLlama model = new LoraLlama(w, spec, kern, false);
        AdapterState state = new AdapterState(model.layout());
        SplittableRandom r = new SplittableRandom(7);
        float[] p = state.params();
        for (int i = 0; i < p.length; i++) p[i] = (float) (0.05 * (2 * r.nextDouble() - 1)); // B non-zero too
        int T = 48;
        int[][] ids = new int[2][T];
        for (int[] row : ids)
            for (int t = 0; t < T; t++) row[t] = 1 + r.nextInt(w.arch().vocabSize() - 1);
        Batch batch = new Batch(ids, ids, null);
        LossSum before = model.forwardBackward(p, state.grads(), batch, 0L);
        OptimizerStep opt =
                new OptimizerStep(OptimizerConfig.defaults(), new LrSchedule(LrSchedule.Type.CONSTANT, 1e-2, 0, 1));
        OptimizerStep.StepResult step = opt.step(state, opt.newState(state), before.tokens());
        LossSum after = model.evaluate(p, batch);
        System.out.println("kernels=" + kern.name()
                + " vectorModule="
                + ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
                + " loss=" + before.lossSum() / before.tokens()
                + " lossAfter=" + after.lossSum() / after.tokens()
                + " gradNorm=" + step.gradNorm()
                + " tokens=" + before.tokens());
    }
}
