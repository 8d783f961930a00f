package io.lakelora.jobs.runtime;

import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.LoraModelBuilder;
import io.lakelora.model.LoraSpec;
import io.lakelora.train.TrainableModel;
import java.nio.file.Path;
import org.apache.spark.SparkEnv;
import org.apache.spark.deploy.SparkHadoopUtil;

/**
 * The LLaMA-family QLoRA model on executors, built by the engine's one {@link LoraModelBuilder} (as {@code
 * train-local} builds it). The base is read from the lake (a model directory in HF layout, fp32/bf16 or already
 * quantized by job 00), copied once to the executor's local cache for non-file URIs, quantized layer by layer on load
 * when it is not yet quantized, and kept for the executor's lifetime. Each task thread gets a LoRA model over that
 * shared base with kernels of the task's threads ({@code spec.threads()}, 0 = {@code spark.task.cpus}).
 */
public final class LoraLlamaFactory implements ModelFactory<LlamaWeights> {
    private static final long serialVersionUID = 2L;
    private final String modelUri;
    private final LoraModelBuilder.Spec spec;
    /** {@link LakeFs#fingerprint} of the model directory, taken on the driver when the job starts. */
    private final String modelFingerprint;

    public LoraLlamaFactory(String modelUri, LoraModelBuilder.Spec spec) {
        if (spec.lora().initKind().rewritesBase()) {
            throw new IllegalArgumentException(
                    "lora.init_lora_weights = " + spec.lora().initLoraWeights()
                            + " rewrites the base weights, which every executor would have to repeat identically; the Spark "
                            + "jobs support true/gaussian. Fix: use train-local for PiSSA/LoftQ, or init_lora_weights: true");
        }
        this.modelUri = modelUri;
        this.spec = spec;
        this.modelFingerprint = lakeFs().fingerprint(modelUri);
    }

    @Override
    public String cacheKey() {
        // the fingerprint: a base replaced in place under the same URI is a new key (loaded again, the old dropped)
        return cacheGroup() + "|" + modelFingerprint;
    }

    @Override
    public String cacheGroup() {
        return modelUri + "|" + spec.quant().id() + (spec.doubleQuant() ? "+dq" : "");
    }

    /** Kernel threads per task: the configured count, or 0 = the task's CPUs ({@code spark.task.cpus}). */
    public int threads() {
        if (spec.threads() > 0) return spec.threads();
        org.apache.spark.TaskContext tc = org.apache.spark.TaskContext.get();
        return tc == null ? 1 : Math.max(1, tc.cpus());
    }

    public LoraSpec spec() {
        return spec.loraSpec();
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
        LlamaWeights w = LoraModelBuilder.loadBase(localModelDir(), spec);
        KernelProvider.warmUp(KernelProvider.withThreads(threads()));
        return w;
    }

    /** The LoRA spec, kernel threads and recomputation the task's models are built with. */
    @Override
    public String modelKey() {
        return spec.loraSpec() + "|threads=" + threads() + "|recompute=" + spec.recompute();
    }

    @Override
    public TrainableModel newModel(LlamaWeights base) {
        return LoraModelBuilder.newModel(base, spec.withThreads(threads()));
    }
}
