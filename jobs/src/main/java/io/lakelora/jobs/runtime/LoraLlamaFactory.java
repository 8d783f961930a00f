package io.lakelora.jobs.runtime;

import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.LoraLlama;
import io.lakelora.model.LoraSpec;
import io.lakelora.quant.QuantType;
import io.lakelora.quant.Quantizer;
import io.lakelora.train.TrainableModel;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.SparkEnv;
import org.apache.spark.deploy.SparkHadoopUtil;

/**
 * The LLaMA-family QLoRA model on executors. The base is read from the lake (a model directory in HF layout, fp32/bf16
 * or already quantized by job 00), copied once to the executor's local cache for non-file URIs, quantized layer by
 * layer on load when it is not yet quantized, and kept for the executor's lifetime. Each task thread gets a
 * {@link LoraLlama} over that shared base with kernels of {@code threadsPerTask} threads ({@code spark.task.cpus}).
 */
public final class LoraLlamaFactory implements ModelFactory<LlamaWeights> {
    private static final long serialVersionUID = 1L;
    private final String modelUri;
    private final String quant;
    private final int r;
    private final double alpha;
    private final boolean rslora;
    private final double dropout;
    private final List<String> targets;
    private final int threadsPerTask;
    private final boolean recompute;
    /** {@link LakeFs#fingerprint} of the model directory, taken on the driver when the job starts. */
    private final String modelFingerprint;

    public LoraLlamaFactory(
            String modelUri,
            String quant,
            int r,
            double alpha,
            boolean rslora,
            double dropout,
            Set<TargetModule> targets,
            int threadsPerTask,
            boolean recompute) {
        QuantType.parse(quant); // validate early, on the driver
        this.modelUri = modelUri;
        this.quant = quant;
        this.r = r;
        this.alpha = alpha;
        this.rslora = rslora;
        this.dropout = dropout;
        this.targets = targets.stream().map(TargetModule::name).sorted().toList();
        this.threadsPerTask = threadsPerTask;
        this.recompute = recompute;
        this.modelFingerprint = lakeFs().fingerprint(modelUri);
    }

    @Override
    public String cacheKey() {
        // the fingerprint: a base replaced in place under the same URI is a new key (loaded again, the old dropped)
        return cacheGroup() + "|" + modelFingerprint;
    }

    @Override
    public String cacheGroup() {
        return modelUri + "|" + quant;
    }

    /** Kernel threads per task: the configured count, or 0 = the task's CPUs ({@code spark.task.cpus}). */
    public int threads() {
        if (threadsPerTask > 0) return threadsPerTask;
        org.apache.spark.TaskContext tc = org.apache.spark.TaskContext.get();
        return tc == null ? 1 : Math.max(1, tc.cpus());
    }

    public LoraSpec spec() {
        Set<TargetModule> t = EnumSet.noneOf(TargetModule.class);
        for (String s : targets) t.add(TargetModule.valueOf(s));
        return LoraSpec.of(r, alpha, rslora, dropout, t);
    }

    /** The local directory holding the model files (a cached copy when the model lives on an object store). */
    public Path localModelDir() {
        Path cache = Path.of(System.getProperty("java.io.tmpdir"), "lakelora-models");
        return lakeFs().localCopy(modelUri, cache);
    }

    /** The lake file system with this JVM's Spark Hadoop settings (S3A credentials etc.), or defaults. */
    private static LakeFs lakeFs() {
        SparkEnv env = SparkEnv.get();
        org.apache.hadoop.conf.Configuration conf = env == null
                ? new org.apache.hadoop.conf.Configuration()
                : SparkHadoopUtil.get().newConfiguration(env.conf());
        return new LakeFs(conf);
    }

    @Override
    public LlamaWeights loadBase(String[] deviceAddresses) {
        Path dir = localModelDir();
        QuantType q = QuantType.parse(quant);
        Quantizer quantizer = q == QuantType.NONE
                ? null
                : new Quantizer(q, Quantizer.DEFAULT_BLOCKSIZE, q != QuantType.INT8); // double quant is 4-bit only
        LlamaWeights w = LlamaLoader.load(dir, quantizer == null ? null : quantizer::quantize);
        KernelProvider.warmUp(KernelProvider.withThreads(threads()));
        return w;
    }

    @Override
    public TrainableModel newModel(LlamaWeights base) {
        return new LoraLlama(base, spec(), KernelProvider.withThreads(threads()), recompute);
    }
}
