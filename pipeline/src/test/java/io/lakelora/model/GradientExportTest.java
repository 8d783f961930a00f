package io.lakelora.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.kernel.KernelProvider;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.safetensors.SafetensorsFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gradient export against the PyTorch fixture (gen_lora_parity.py): the mean loss and d(mean)/d(every tensor). */
class GradientExportTest {

    @Test
    void meanLossGradientsMatchTorchAndRoundTripThroughSafetensors(@TempDir Path tmp) throws Exception {
        LoraParityTest.Case c = LoraParityTest.load("qwen2_tied_packed");
        try (var ex = c.expectedTensors()) {
            List<GradientExport.Row> rows = new ArrayList<>();
            for (int b = 0; b < c.batch().batchSize(); b++) {
                rows.add(new GradientExport.Row(
                        c.batch().inputIds()[b],
                        c.batch().labels()[b],
                        c.batch().positionIds()[b]));
            }
            LoraAdapter adapter =
                    new LoraAdapter(c.spec(), c.spec().layout(c.weights().arch()), c.params());
            GradientExport.Result r = GradientExport.compute(c.weights(), adapter, rows, KernelProvider.get());
            assertEquals(c.expected().get("loss").asDouble(), r.loss(), 1e-5 * r.loss());
            assertEquals(c.expected().get("tokens").asLong(), r.tokens());
            Path out = tmp.resolve("grads.safetensors");
            GradientExport.write(out, adapter.layout(), r);
            try (SafetensorsFile f = SafetensorsFile.open(out)) {
                assertEquals(Double.toString(r.loss()), f.metadata().get("loss"));
                assertEquals(adapter.layout().tensors().size(), f.tensors().size());
                for (AdapterLayout.Tensor t : adapter.layout().tensors()) {
                    float[] got = f.readFloats(t.peftKey());
                    float[] want = ex.readFloats("grad." + t.peftKey());
                    double maxRef = 0;
                    double maxDiff = 0;
                    for (int i = 0; i < want.length; i++) {
                        maxRef = Math.max(maxRef, Math.abs(want[i]));
                        maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
                    }
                    assertTrue(maxDiff <= 1e-4 * maxRef, t.peftKey() + ": rel error " + maxDiff / maxRef);
                    assertEquals(
                            List.of((long) t.rows(), (long) t.cols()),
                            java.util.Arrays.stream(f.info(t.peftKey()).shape())
                                    .boxed()
                                    .toList());
                }
            }
        }
    }

    @Test
    void allIgnoredLabelsAreAnError() throws Exception {
        LoraParityTest.Case c = LoraParityTest.load("llama_gqa");
        c.expectedTensors().close();
        LoraAdapter adapter =
                new LoraAdapter(c.spec(), c.spec().layout(c.weights().arch()), c.params());
        int[] ids = {1, 2, 3};
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> GradientExport.compute(
                        c.weights(),
                        adapter,
                        List.of(new GradientExport.Row(ids, new int[] {-100, -100, -100}, null)),
                        KernelProvider.get()));
        assertTrue(e.getMessage().startsWith("no target tokens"), e.getMessage());
    }
}
