package io.lakelora.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.kernel.ScalarKernels;
import io.lakelora.kernel.VectorKernels;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.TargetModule;
import io.lakelora.train.Batch;
import io.lakelora.train.LossSum;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scalar backend as a whole: a training step through {@link ScalarKernels} (plain loops for the products and the
 * layers' row operations) agrees with the Vector API backend, and runs in a JVM without the
 * {@code jdk.incubator.vector} module.
 */
class ScalarBackendTest {

    /**
     * Loss and every LoRA gradient tensor of one step, scalar vs vector (one thread each), on a 2-layer NF4 model. The
     * backends differ only in fp32 rounding: summation order (every product and row sum; reductions of up to
     * F = 352, 2T = 192 and V = 300 terms) and the vector exponential (2 ulp). A first-order bound for one reduction
     * is n u (u = 2^-24), about 2e-5 for n = 352, and the layers' errors add up through the backward; a peaked
     * softmax amplifies them further (softmax - onehot cancels where p is near 1: with weights of std 0.3 instead of
     * 0.1 here, 11 nats per token, the worst gradient differs by 5e-5, nearly all of it from the exp). Bounds: loss
     * relative error 1e-6, per tensor max|scalar - vector| / max|scalar| 1e-4 (measured: 1e-8 and 3.4e-6).
     */
    @Test
    void scalarStepMatchesTheVectorBackend() {
        double[] r = compareStep(new VectorKernels(1));
        assertTrue(r[0] <= 1e-6, "loss rel error " + r[0]);
        assertTrue(r[1] <= 1e-4, "gradient rel error " + r[1]);
    }

    /**
     * {@link #compareStep} in a child JVM whose one vector width is 128 bits ({@code -Dlakelora.vector.bits=128}, ARM
     * NEON's width): the micro-kernels, the row operations and the exponential all at 4 lanes, within the same
     * bounds.
     */
    @Test
    void the128BitBackendMatchesTheScalarOne() throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--add-modules=jdk.incubator.vector");
        cmd.add("-Xmx512m");
        cmd.add("-Dlakelora.vector.bits=128");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(WidthProbe.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "probe JVM did not finish in 120 s");
        System.out.print(out);
        assertEquals(0, p.exitValue(), out);
        Matcher m = Pattern.compile("kernels=(\\S+) bits=(\\d+) lossRel=(\\S+) gradRel=(\\S+)")
                .matcher(out);
        assertTrue(m.find(), "no result line in: " + out);
        assertEquals("vector-128", m.group(1));
        assertEquals("128", m.group(2));
        assertTrue(Double.parseDouble(m.group(3)) <= 1e-6, "loss rel error " + m.group(3));
        assertTrue(Double.parseDouble(m.group(4)) <= 1e-4, "gradient rel error " + m.group(4));
    }

    /** Runs {@link #compareStep} with this JVM's configured vector width and prints the result. */
    public static final class WidthProbe {
        public static void main(String[] args) {
            VectorKernels vk = new VectorKernels(1);
            double[] r = compareStep(vk);
            System.out.printf(
                    java.util.Locale.ROOT,
                    "kernels=%s bits=%d lossRel=%.3e gradRel=%.3e%n",
                    vk.name(),
                    vk.vectorBits(),
                    r[0],
                    r[1]);
        }
    }

    /**
     * Loss and every LoRA gradient tensor of one step, scalar vs {@code vector} (one thread each), on a 2-layer NF4
     * model; returns {loss relative error, worst per-tensor max|scalar - vector| / max|scalar|}. The backends differ
     * only in fp32 rounding: summation order (every product and row sum; reductions of up to F = 352, 2T = 192 and
     * V = 300 terms) and the vector exponential (2 ulp). A first-order bound for one reduction is n u (u = 2^-24),
     * about 2e-5 for n = 352, and the layers' errors add up through the backward; a peaked softmax amplifies them
     * further (softmax - onehot cancels where p is near 1: with weights of std 0.3 instead of 0.1 here, 11 nats per
     * token, the worst gradient differs by 5e-5, nearly all of it from the exp). Bounds: loss relative error 1e-6,
     * per tensor 1e-4 (measured at 512 bits: 1e-8 and 3.4e-6).
     */
    static double[] compareStep(VectorKernels vector) {
        ModelConfig a = TestConfigs.llama(300, 128, 352, 2, 4, 2, false);
        LlamaWeights w = LlamaWeights.random(a, 21, 0.1f, TestQuant::nf4);
        LoraSpec spec = LoraSpec.of(4, 8.0, false, 0.0, EnumSet.allOf(TargetModule.class));
        AdapterLayout layout = spec.layout(a);
        float[] params = new float[layout.size()];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < params.length; i++) params[i] = (float) (0.2 * (2 * r.nextDouble() - 1));
        int T = 96;
        int[][] ids = new int[2][T];
        for (int[] row : ids) for (int t = 0; t < T; t++) row[t] = r.nextInt(a.vocabSize());
        Batch batch = new Batch(ids, ids, null);

        float[] gs = new float[params.length];
        float[] gv = new float[params.length];
        LossSum ls = new LoraLlama(w, spec, new ScalarKernels(), false).forwardBackward(params, gs, batch, 0L);
        LossSum lv = new LoraLlama(w, spec, vector, false).forwardBackward(params, gv, batch, 0L);
        double lossRel = Math.abs(ls.lossSum() - lv.lossSum()) / Math.abs(ls.lossSum());
        assertEquals(ls.tokens(), lv.tokens());
        double worst = 0;
        String worstName = "";
        for (AdapterLayout.Tensor t : layout.tensors()) {
            double maxRef = 0, maxDiff = 0;
            for (int i = t.offset(); i < t.offset() + t.size(); i++) {
                maxRef = Math.max(maxRef, Math.abs(gs[i]));
                maxDiff = Math.max(maxDiff, Math.abs(gs[i] - gv[i]));
            }
            assertTrue(maxRef > 0, t.peftKey() + ": no gradient");
            if (maxDiff / maxRef > worst) {
                worst = maxDiff / maxRef;
                worstName = t.peftKey();
            }
        }
        System.out.printf(
                "scalar vs %s step: loss %.7f vs %.7f (rel %.2e); %d LoRA tensors, worst gradient rel %.2e (%s)%n",
                vector.name(),
                ls.lossSum(),
                lv.lossSum(),
                lossRel,
                layout.tensors().size(),
                worst,
                worstName);
        return new double[] {lossRel, worst};
    }

    private static final Pattern PROBE_LINE = Pattern.compile(
            "kernels=(\\S+) vectorModule=(\\S+) loss=(\\S+) lossAfter=(\\S+) gradNorm=(\\S+) tokens=(\\d+)");

    /**
     * A child JVM with the project's flags (bin/jvm.args) minus {@code --add-modules=jdk.incubator.vector}, and
     * {@code -Dlakelora.kernels=scalar}, runs a QLoRA training step of stories260K ({@link ScalarStepProbe}: forward,
     * backward, AdamW) to a finite loss that the update lowers, and its class-loading log shows no Vector API class
     * and none of our vector kernels.
     */
    @Test
    void trainingStepRunsWithoutTheIncubatorModule(@TempDir Path dir) throws Exception {
        String root = System.getProperty("lakelora.root");
        assertNotNull(root, "system property lakelora.root (set by surefire in the root pom)");
        Path classLog = dir.resolve("classes.log");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String flag : Files.readAllLines(Path.of(root, "bin", "jvm.args"))) {
            if (!flag.isBlank() && !flag.contains("jdk.incubator.vector")) cmd.add(flag.strip());
        }
        cmd.add("-Xmx512m");
        cmd.add("-Dlakelora.kernels=scalar");
        cmd.add("-Dlakelora.assets=" + io.lakelora.util.Assets.root());
        cmd.add("-Xlog:class+load=info:file=" + classLog);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(ScalarStepProbe.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "probe JVM did not finish in 120 s");
        System.out.print(out);
        assertEquals(0, p.exitValue(), out);

        Matcher m = PROBE_LINE.matcher(out);
        assertTrue(m.find(), "no result line in: " + out);
        assertEquals("scalar", m.group(1));
        assertEquals("false", m.group(2), "the child must run without the jdk.incubator.vector module");
        double loss = Double.parseDouble(m.group(3));
        double after = Double.parseDouble(m.group(4));
        assertTrue(Double.isFinite(loss) && loss > 0, "loss " + loss);
        assertTrue(Double.isFinite(after) && after < loss, "loss after the update " + after + " vs " + loss);
        assertTrue(Double.parseDouble(m.group(5)) > 0, "gradient norm " + m.group(5));

        List<String> loaded = Files.readAllLines(classLog);
        assertTrue(loaded.stream().anyMatch(l -> l.contains("io.lakelora.kernel.ScalarMathOps")), "log is empty?");
        for (String l : loaded) {
            assertTrue(!l.contains("jdk.incubator.vector"), "a Vector API class was loaded: " + l);
            for (String ours : new String[] {"Vector", "Lanes", "MicroKernel", "PackVector512", "FmaPeak"}) {
                assertTrue(!l.contains("io.lakelora.kernel." + ours), "a vector kernel class was loaded: " + l);
            }
        }
    }
}
