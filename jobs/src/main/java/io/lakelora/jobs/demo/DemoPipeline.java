package io.lakelora.jobs.demo;

import io.lakelora.jobs.common.JobConfigs;
import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.evaluate.EvaluateConfig;
import io.lakelora.jobs.evaluate.EvaluateJob;
import io.lakelora.jobs.export.ExportAdapterJob;
import io.lakelora.jobs.export.ExportConfig;
import io.lakelora.jobs.prepare.PrepareConfig;
import io.lakelora.jobs.prepare.PrepareCorpusJob;
import io.lakelora.jobs.quantize.QuantizeBaseJob;
import io.lakelora.jobs.quantize.QuantizeConfig;
import io.lakelora.jobs.runtime.AdapterExport;
import io.lakelora.jobs.tokenize.TokenizeConfig;
import io.lakelora.jobs.tokenize.TokenizePackJob;
import io.lakelora.jobs.train.TrainJob;
import io.lakelora.jobs.train.TrainJobConfig;
import io.lakelora.util.Assets;
import io.lakelora.util.Fields;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole pipeline on the embedded default, each job exactly as its own command runs it, from the project's conf
 * files: 00 quantize the stories260K base into the lake -> 01 prepare tinyshakespeare + tinystories -> 02 tokenize and
 * pack -> 03 train a QLoRA adapter on the quantized base -> 04 export it in PEFT format -> 05 evaluate it against the
 * base. Asset paths come from the assets setting ({@code LAKELORA_ASSETS}, default ../shared/assets).
 */
public final class DemoPipeline {
    private static final Logger LOG = LoggerFactory.getLogger(DemoPipeline.class);

    private DemoPipeline() {}

    /** What the demo produced: each job's printed result, i.e. where every table, version and file is. */
    public record Outcome(
            @Fields.Key("00_quantize_base") Map<String, Object> quantize,
            @Fields.Key("01_prepare_corpus") Map<String, Object> prepare,
            @Fields.Key("02_tokenize_pack") Map<String, Object> tokenize,
            @Fields.Key("03_train") Map<String, Object> train,
            @Fields.Key("04_export") Map<String, Object> export,
            @Fields.Key("05_evaluate") Map<String, Object> evaluate) {
        public Map<String, Object> asMap() {
            return Fields.of(this);
        }
    }

    /**
     * @param confDir the project's conf/ directory
     * @param overrides extra key=value overrides, each applied to the job configs that have its top-level section
     */
    public static Outcome run(SparkSession spark, Path confDir, String lake, long steps, List<String> overrides) {
        String assets = Assets.root().toString();
        String model = Assets.require("models/stories260K-hf").toString();
        checkOverrides(confDir, overrides);
        List<String> common = new ArrayList<>(List.of("lake.root=" + lake));
        common.addAll(overrides);

        banner("00 quantize base: " + model + " -> NF4 + double quantization in the lake");
        QuantizeConfig q = load(confDir, "00_quantize_base.yaml", QuantizeConfig.class, common, "model.path=" + model);
        QuantizeBaseJob.Result qr = QuantizeBaseJob.run(spark, q);
        String quantized = qr.output();

        banner("01 prepare corpus: tinyshakespeare + tinystories -> corpus_clean / corpus_quarantine");
        PrepareConfig p = load(confDir, "01_prepare_corpus.yaml", PrepareConfig.class, common, "mode=full");
        p.inputs.removeIf(in -> !Set.of("tinyshakespeare", "tinystories").contains(in.name));
        for (PrepareConfig.Input in : p.inputs) in.path = in.path.replace("../shared/assets", assets);
        PrepareCorpusJob.Result pr = PrepareCorpusJob.run(spark, p);

        banner("02 tokenize and pack: corpus_clean -> token_blocks");
        TokenizeConfig t = load(
                confDir,
                "02_tokenize_pack.yaml",
                TokenizeConfig.class,
                common,
                "mode=full",
                "pack.block_size=256",
                "model.tokenizer=" + model);
        TokenizePackJob.Result tr = TokenizePackJob.run(spark, t);

        banner("03 train: data-parallel QLoRA on the quantized base -> adapter registry");
        TrainJobConfig c = load(
                confDir,
                "03_train.yaml",
                TrainJobConfig.class,
                common,
                "model.path=" + quantized,
                "train.steps=" + steps);
        TrainJob.Outcome to = TrainJob.run(spark, c, null);

        banner("04 export: " + to.adapterName() + "@" + to.version() + " -> PEFT files");
        ExportConfig e = load(
                confDir,
                "04_export.yaml",
                ExportConfig.class,
                common,
                "adapter=" + to.adapterName() + "@" + to.version());
        AdapterExport.Result er = ExportAdapterJob.run(spark, e);

        banner("05 evaluate: " + to.adapterName() + "@" + to.version() + " vs the base on the eval split");
        EvaluateConfig v = load(
                confDir,
                "05_evaluate.yaml",
                EvaluateConfig.class,
                common,
                "adapter=" + to.adapterName() + "@" + to.version(),
                "model.path=" + quantized);
        EvaluateJob.Result vr = EvaluateJob.run(spark, v);
        return new Outcome(qr.asMap(), pr.asMap(), tr.asMap(), to.asMap(), er.asMap(), vr.asMap());
    }

    /**
     * Loads one job's config with the demo's settings, the user's overrides whose top-level section this job's config
     * has (lake/spark/s3a reach every job, train.* only job 03, ...), then the job-specific settings.
     */
    private static <T> T load(Path confDir, String file, Class<T> type, List<String> common, String... specific) {
        var tree = JobConfigs.resolve(List.of(confDir.resolve(file).toString()), List.of(), "local");
        List<String> all = new ArrayList<>();
        for (String o : common) {
            String section = o.split("[.=]", 2)[0];
            if (tree.has(section)) all.add(o);
        }
        all.addAll(List.of(specific));
        return JobConfigs.load(List.of(confDir.resolve(file).toString()), all, type, "local");
    }

    /** Fails on an override that no job's config has (a typo would otherwise be silently dropped). */
    static void checkOverrides(Path confDir, List<String> overrides) {
        for (String o : overrides) {
            String section = o.split("[.=]", 2)[0];
            boolean known = false;
            for (String f : List.of(
                    "00_quantize_base.yaml",
                    "01_prepare_corpus.yaml",
                    "02_tokenize_pack.yaml",
                    "03_train.yaml",
                    "04_export.yaml",
                    "05_evaluate.yaml")) {
                known |= JobConfigs.resolve(List.of(confDir.resolve(f).toString()), List.of(), "local")
                        .has(section);
            }
            if (!known) {
                throw new IllegalArgumentException("demo override '" + o + "': no job config has a section '" + section
                        + "'. Fix: use a key of conf/0N_*.yaml, e.g. train.steps=20 or spark.master=local[4]");
            }
        }
    }

    private static void banner(String s) {
        LOG.info("==== {}", s);
    }

    /** The lake root as the jobs see it. */
    public static String lakeUri(String lake) {
        return new LakePaths(lake).root();
    }
}
