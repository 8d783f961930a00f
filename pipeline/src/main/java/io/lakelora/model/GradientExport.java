package io.lakelora.model;

import io.lakelora.kernel.Kernels;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.safetensors.DType;
import io.lakelora.safetensors.SafetensorsWriter;
import io.lakelora.train.Batch;
import io.lakelora.train.LossSum;
import java.nio.file.Path;
import java.util.List;

/**
 * The gradient of the MEAN token loss (HF convention: cross-entropy averaged over every non-ignored target of the
 * batch) with respect to every LoRA tensor of an adapter, dropout off: what {@code lakelora grads} writes so that
 * anyone can check the engine against another framework. Rows may differ in length; each is run as its own
 * micro-batch and the sums are combined before dividing by the total target count.
 */
public final class GradientExport {
    private GradientExport() {}

    /**
     * @param grads      (layout.size()) d(mean loss)/d(params)
     * @param loss       mean loss (nats)
     * @param tokens     target tokens the mean is over
     */
    public record Result(float[] grads, double loss, long tokens) {}

    /** One row: input ids, labels aligned with them (-100 = ignored), optional position ids (null = 0..T-1). */
    public record Row(int[] inputIds, int[] labels, int[] positionIds) {}

    public static Result compute(LlamaWeights weights, LoraAdapter adapter, List<Row> rows, Kernels kern) {
        LoraLlama model = new LoraLlama(weights, adapter.spec().withoutDropout(), kern, true);
        AdapterLayout layout = model.layout();
        float[] sum = new float[layout.size()];
        LossSum total = LossSum.ZERO;
        for (Row r : rows) {
            Batch b = new Batch(
                    new int[][] {r.inputIds()},
                    new int[][] {r.labels()},
                    r.positionIds() == null ? null : new int[][] {r.positionIds()});
            total = total.plus(model.forwardBackward(adapter.params(), sum, b, 0L));
        }
        if (total.tokens() == 0) {
            throw new IllegalArgumentException(
                    "no target tokens: every label is -100 or every row has one token, so the "
                            + "mean loss is undefined. Fix: give labels that are not all -100");
        }
        float inv = (float) (1.0 / total.tokens());
        for (int i = 0; i < sum.length; i++) sum[i] *= inv;
        return new Result(sum, total.mean(), total.tokens());
    }

    /** Writes {@code r.grads()} under the adapter's PEFT keys (F32, shapes as in adapter_model.safetensors). */
    public static void write(Path out, AdapterLayout layout, Result r) {
        SafetensorsWriter w = new SafetensorsWriter(out)
                .metadata("format", "pt")
                .metadata("loss", Double.toString(r.loss()))
                .metadata("tokens", Long.toString(r.tokens()));
        for (AdapterLayout.Tensor t : layout.tensors()) {
            float[] g = new float[t.size()];
            System.arraycopy(r.grads(), t.offset(), g, 0, g.length);
            w.add(t.peftKey(), DType.F32, new long[] {t.rows(), t.cols()}, g);
        }
        w.write();
    }
}
