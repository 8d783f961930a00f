package io.lakelora.jobs.export;

import io.lakelora.config.ConfigLoader;
import io.lakelora.jobs.common.JobCommand;
import io.lakelora.jobs.common.JobRun;
import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.jobs.registry.AdapterRegistry;
import io.lakelora.jobs.runtime.AdapterExport;
import io.lakelora.jobs.runtime.AdapterPaths;
import io.lakelora.jobs.runtime.AdapterVersion;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Job 04 export adapter: one registry version ({@code name@version}, {@code name@alias} or {@code name}) -> a PEFT
 * adapter directory that Hugging Face PEFT, vLLM and llama.cpp's converter read: {@code adapter_config.json} and
 * {@code adapter_model.safetensors} exactly as stored in the registry (byte for byte), plus
 * {@code lakelora_lineage.json} (version, run id, base model and its sha256, dataset table and Delta version, the
 * weights' sha256), written last. Exporting the same version again to the same place changes nothing.
 *
 * <p>Run: {@code bin/lakelora export --config conf/04_export.yaml adapter=NAME@REF [out=DIR]}, or spark-submit with
 * this class as the main class and the same arguments.
 */
public final class ExportAdapterJob {
    private static final Logger LOG = LoggerFactory.getLogger(ExportAdapterJob.class);

    public static final String JOB = "04_export_adapter";
    public static final String LINEAGE_FILE = AdapterExport.LINEAGE_FILE;

    private ExportAdapterJob() {}

    /** spark-submit entry point: the same arguments as {@code bin/lakelora export}. */
    public static void main(String[] args) {
        JobCommand.runMain("export", new ExportCommand(), args);
    }

    /** {@link #run(SparkSession, ExportConfig, String)} with a new run id. */
    public static AdapterExport.Result run(SparkSession spark, ExportConfig cfg) {
        return run(spark, cfg, null);
    }

    /**
     * Resolves {@code adapter} in the lake's registry, exports it and logs the run to {@code job_runs} under
     * {@code runId} (the scheduler's; null: a new one).
     */
    public static AdapterExport.Result run(SparkSession spark, ExportConfig cfg, String runId) {
        cfg.validate();
        JobRun run = new JobRun(JOB, runId);
        run.mode = "full";
        run.configJson = ConfigLoader.toJson(cfg);
        AdapterRegistry registry = new AdapterRegistry(spark, AdapterPaths.registryRoot(cfg.lake.root));
        AdapterVersion v = AdapterVersion.of(registry.resolve(cfg.adapter));
        String out = cfg.out != null
                ? LakePaths.toUri(cfg.out)
                : AdapterPaths.exportDir(cfg.lake.root, v.name(), v.version());
        AdapterExport.Result r = AdapterExport.export(
                new LakeFs(spark.sparkContext().hadoopConfiguration()), v, out, registry.adaptersPath());
        run.counts.put("adapter_model_bytes", r.weightsBytes());
        run.details.put(r.written() ? "exported" : "unchanged", 1L);
        run.message = v.ref() + " -> " + out;
        run.record(spark, new LakePaths(cfg.lake.root), "succeeded");
        LOG.info("[export] {} {} {}", v.ref(), r.written() ? "exported to" : "already exported at", out);
        return r;
    }
}
