package io.lakelora.jobs.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.jobs.registry.AdapterRegistry;
import io.lakelora.jobs.runtime.AdapterExport;
import io.lakelora.jobs.runtime.AdapterVersion;
import io.lakelora.model.ModelConfig;
import io.lakelora.model.ModelDir;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.quant.QuantType;
import java.io.IOException;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SQL functions that serve one adapter version with the executor-cached base model:
 * {@code lora_generate(prompt STRING) -> STRING} (greedy continuation, the prompt not repeated) and
 * {@code lora_score(text STRING) -> DOUBLE} (mean negative log-likelihood in nats per predicted token, BOS added).
 *
 * <p>{@link #register} resolves the version on the driver (an alias is pinned to the version it names now), makes sure
 * the adapter exists as a PEFT directory in the lake (its registered {@code peft_path} when that holds the registry's
 * bytes, else an export to {@code <lake>/exports/<name>/v<version>}), checks that it fits the model (and, by sha256,
 * that the model is its base), then registers the functions. Their closures carry only URIs and settings
 * ({@link ServeTarget}); each executor loads the base and the adapter once ({@link LoraServing}).
 *
 * <pre>{@code
 * LoraUdfs.register(spark, "s3a://bucket/lake/registry", "support-bot@production",
 *         "s3a://bucket/lake/models/llama-3-8b-nf4", LoraUdfs.Options.defaults().withMaxNewTokens(128));
 * spark.sql("SELECT id, lora_generate(question) AS answer, lora_score(answer_text) AS nll FROM questions");
 * }</pre>
 */
public final class LoraUdfs {
    private static final Logger LOG = LoggerFactory.getLogger(LoraUdfs.class);

    private LoraUdfs() {}

    /**
     * @param quant        how the base is held: nf4 (default), fp4, int8, none; a model from job 00 must say the same
     * @param maxNewTokens lora_generate's limit (it also stops at EOS and at the model's context length)
     * @param threads      kernel threads per call (match {@code spark.task.cpus})
     * @param exportRoot   where to export the adapter when it has no usable peft_path; null: {@code <lake>/exports}
     *                     (the registry root's sibling)
     * @param checkBase    fail unless the model's sha256 is the base the adapter was trained on
     */
    public record Options(
            String quant,
            int maxNewTokens,
            int threads,
            String generateName,
            String scoreName,
            String exportRoot,
            boolean checkBase) {
        public Options {
            QuantType.parse(quant);
            if (maxNewTokens < 0) throw new IllegalArgumentException("maxNewTokens must be >= 0, got " + maxNewTokens);
            if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
            for (String n : new String[] {generateName, scoreName}) {
                if (n == null || !n.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                    throw new IllegalArgumentException("invalid SQL function name '" + n + "'");
                }
            }
        }

        public static Options defaults() {
            return new Options("nf4", 64, 1, "lora_generate", "lora_score", null, true);
        }

        public Options withQuant(String q) {
            return new Options(q, maxNewTokens, threads, generateName, scoreName, exportRoot, checkBase);
        }

        public Options withMaxNewTokens(int n) {
            return new Options(quant, n, threads, generateName, scoreName, exportRoot, checkBase);
        }

        public Options withThreads(int n) {
            return new Options(quant, maxNewTokens, n, generateName, scoreName, exportRoot, checkBase);
        }

        /** Other function names, e.g. to serve two versions side by side ({@code lora_score_v2}). */
        public Options withNames(String generate, String score) {
            return new Options(quant, maxNewTokens, threads, generate, score, exportRoot, checkBase);
        }

        public Options withExportRoot(String root) {
            return new Options(quant, maxNewTokens, threads, generateName, scoreName, root, checkBase);
        }

        public Options withCheckBase(boolean on) {
            return new Options(quant, maxNewTokens, threads, generateName, scoreName, exportRoot, on);
        }
    }

    /** What was registered. */
    public record Registered(
            String adapter, int version, String adapterUri, String modelUri, String generateName, String scoreName) {}

    /**
     * Registers the two functions for {@code adapterRef} of the lake at {@code lakeRoot} on its base model's lake copy:
     * the base model id recorded with the version, looked up in {@code <lake>/tables/base_models} (job 00). Executors
     * then read everything from the lake; no local path is involved.
     */
    public static Registered registerFromLake(SparkSession spark, String lakeRoot, String adapterRef, Options options) {
        String registryRoot = io.lakelora.jobs.runtime.AdapterPaths.registryRoot(lakeRoot);
        AdapterVersion v = AdapterVersion.of(new AdapterRegistry(spark, registryRoot).resolve(adapterRef));
        String model = io.lakelora.jobs.common.BaseModels.resolve(
                        spark, new LakePaths(lakeRoot), v.baseModelId(), "the base model id recorded with " + v.ref())
                .lakePath();
        return register(spark, registryRoot, adapterRef, model, options);
    }

    /**
     * Registers the two functions for {@code adapterRef} ({@code name@3}, {@code name@production}, {@code name}) of the
     * registry at {@code registryRoot}, on the base model at {@code modelUri} (a lake URI or local path).
     */
    public static Registered register(
            SparkSession spark, String registryRoot, String adapterRef, String modelUri, Options options) {
        AdapterRegistry registry = new AdapterRegistry(spark, registryRoot);
        AdapterVersion v = AdapterVersion.of(registry.resolve(adapterRef));
        v.requireWeights();
        LakeFs fs = new LakeFs(spark.sparkContext().hadoopConfiguration());
        String model = LakePaths.toUri(modelUri);
        if (!fs.exists(model + "/" + ModelDir.CONFIG)) {
            throw new IllegalArgumentException("base model " + model + " not found (no " + ModelDir.CONFIG + " there) "
                    + "for adapter " + v.ref() + ". Fix: pass the directory of the adapter's base model '"
                    + v.baseModelId() + "' (or its job 00 quantization, <lake>/models/<id>-nf4)");
        }
        String exportRoot = options.exportRoot() != null
                ? LakePaths.toUri(options.exportRoot())
                : new org.apache.hadoop.fs.Path(LakePaths.toUri(registryRoot)).getParent() + "/exports";
        String adapterUri = adapterDir(fs, v, registry.adaptersPath(), exportRoot);
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        if (options.checkBase()) {
            BaseModelCheck.verify(fs, v, model, () -> LoraServing.localModelDir(fs, model), "modelUri");
        }
        // the adapter must map onto the model's decoder (fails naming the tensor otherwise), before any query runs
        PeftAdapter.load(fs.localCopy(adapterUri, tmp.resolve("lakelora-adapters")), modelConfig(fs, model));

        ServeTarget target = new ServeTarget(model, options.quant(), adapterUri, options.threads());
        spark.udf()
                .register(
                        options.generateName(), new GenerateUdf(target, options.maxNewTokens()), DataTypes.StringType);
        spark.udf().register(options.scoreName(), new ScoreUdf(target), DataTypes.DoubleType);
        LOG.info(
                "[serve] {}(prompt), {}(text): adapter {} ({}) on {} ({})",
                options.generateName(),
                options.scoreName(),
                v.ref(),
                adapterUri,
                model,
                options.quant());
        return new Registered(v.name(), v.version(), adapterUri, model, options.generateName(), options.scoreName());
    }

    /**
     * The PEFT directory of {@code v} in the lake: its peft_path when that holds exactly the registry's weights, else
     * an export under {@code exportRoot}.
     */
    static String adapterDir(LakeFs fs, AdapterVersion v, String registryPath, String exportRoot) {
        String p = v.peftPath();
        if (p != null && !p.isBlank()) {
            String w = p + "/" + PeftAdapter.WEIGHTS_FILE;
            if (fs.exists(w)
                    && fs.exists(p + "/" + PeftAdapter.CONFIG_FILE)
                    && sha256(fs.read(w)).equals(sha256(v.adapterSafetensors()))) {
                return p;
            }
            LOG.warn(
                    "[serve] peft_path {} of {} is missing or differs from the registry's weights; exporting the "
                            + "registry's copy",
                    p,
                    v.ref());
        }
        String dir = exportRoot + "/" + v.name() + "/v" + v.version();
        AdapterExport.export(fs, v, dir, registryPath);
        return dir;
    }

    /** config.json of a model directory in the lake (quantized ones too), without copying the weights. */
    static ModelConfig modelConfig(LakeFs fs, String model) {
        String file = model + "/" + ModelDir.CONFIG;
        try {
            ObjectNode n = (ObjectNode) new ObjectMapper().readTree(fs.readJson(file));
            n.remove("quantization_config");
            return ModelConfig.fromJson(n.toString(), file);
        } catch (IOException | ClassCastException e) {
            throw new IllegalArgumentException(
                    "model config " + file + " is not a JSON object (" + e.getMessage()
                            + "). Fix: restore the model's config.json",
                    e);
        }
    }

    private static String sha256(byte[] data) {
        return io.lakelora.util.Hashes.sha256Hex(data);
    }

    /** {@code lora_generate(prompt)}: carries the target's URIs and the token limit only. */
    static final class GenerateUdf implements UDF1<String, String> {
        private static final long serialVersionUID = 1L;
        private final ServeTarget target;
        private final int maxNewTokens;

        GenerateUdf(ServeTarget target, int maxNewTokens) {
            this.target = target;
            this.maxNewTokens = maxNewTokens;
        }

        @Override
        public String call(String prompt) {
            return LoraServing.generate(target, prompt, maxNewTokens);
        }
    }

    /** {@code lora_score(text)}: carries the target's URIs only. */
    static final class ScoreUdf implements UDF1<String, Double> {
        private static final long serialVersionUID = 1L;
        private final ServeTarget target;

        ScoreUdf(ServeTarget target) {
            this.target = target;
        }

        @Override
        public Double call(String text) {
            return LoraServing.score(target, text);
        }
    }
}
