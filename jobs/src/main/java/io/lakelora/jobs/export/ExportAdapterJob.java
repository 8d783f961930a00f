package io.lakelora.jobs.export;

import io.lakelora.config.ConfigLoader;
import io.lakelora.gguf.GgmlType;
import io.lakelora.jobs.common.BaseModels;
import io.lakelora.jobs.common.JobCommand;
import io.lakelora.jobs.common.JobRun;
import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.jobs.registry.AdapterRegistry;
import io.lakelora.jobs.runtime.AdapterExport;
import io.lakelora.jobs.runtime.AdapterPaths;
import io.lakelora.jobs.runtime.AdapterVersion;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.ModelConfig;
import io.lakelora.model.ModelDir;
import io.lakelora.peft.GgufExport;
import io.lakelora.peft.PeftAdapter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Job 04 export adapter: one registry version ({@code name@version}, {@code name@alias} or {@code name}) -> a PEFT
 * adapter directory that Hugging Face PEFT, vLLM and llama.cpp's converter read: {@code adapter_config.json} and
 * {@code adapter_model.safetensors} exactly as stored in the registry (byte for byte), plus
 * {@code lakelora_lineage.json} (version, run id, base model and its sha256, dataset table and Delta version, the
 * weights' sha256), written last. Exporting the same version again to the same place changes nothing. With
 * {@code gguf: true} it also writes {@link #GGUF_FILE}, the exported adapter as a llama.cpp LoRA GGUF.
 *
 * <p>Run: {@code bin/lakelora export --config conf/04_export.yaml adapter=NAME@REF [out=DIR]}, or spark-submit with
 * this class as the main class and the same arguments.
 */
public final class ExportAdapterJob {
    private static final Logger LOG = LoggerFactory.getLogger(ExportAdapterJob.class);

    public static final String JOB = "04_export_adapter";
    public static final String LINEAGE_FILE = AdapterExport.LINEAGE_FILE;
    /** The llama.cpp LoRA GGUF written beside the PEFT files when {@code gguf} is on. */
    public static final String GGUF_FILE = "adapter_model.gguf";

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
        LakeFs fs = new LakeFs(spark.sparkContext().hadoopConfiguration());
        AdapterExport.Result r = AdapterExport.export(fs, v, out, registry.adaptersPath());
        run.counts.put("adapter_model_bytes", r.weightsBytes());
        if (cfg.gguf) {
            String gguf = out + "/" + GGUF_FILE;
            if (r.written() || !fs.exists(gguf)) {
                run.counts.put("adapter_gguf_bytes", writeGguf(spark, fs, cfg, v, out, gguf));
                LOG.info("[export] {} -> {}", v.ref(), gguf);
            }
        }
        run.details.put(r.written() ? "exported" : "unchanged", 1L);
        run.message = v.ref() + " -> " + out;
        run.record(spark, new LakePaths(cfg.lake.root), "succeeded");
        LOG.info("[export] {} {} {}", v.ref(), r.written() ? "exported to" : "already exported at", out);
        return r;
    }

    /**
     * Converts the PEFT files just exported to {@code out} (so the GGUF holds exactly what was exported) into the
     * llama.cpp LoRA GGUF {@code gguf}, with the shapes of the base model's config.json ({@code model_path}, else the
     * lake copy job 00 recorded for the version's base model id); returns its size.
     */
    static long writeGguf(SparkSession spark, LakeFs fs, ExportConfig cfg, AdapterVersion v, String out, String gguf) {
        String model = cfg.modelPath != null && !cfg.modelPath.isBlank()
                ? LakePaths.toUri(cfg.modelPath)
                : BaseModels.resolve(
                                spark,
                                new LakePaths(cfg.lake.root),
                                v.baseModelId(),
                                "model_path (the base model id recorded with " + v.ref() + ")")
                        .lakePath();
        if (!fs.exists(model + "/" + ModelDir.CONFIG)) {
            throw new IllegalArgumentException("config key 'model_path': no " + ModelDir.CONFIG + " at " + model
                    + ". Fix: point model_path at the base model of " + v.ref() + " ('" + v.baseModelId() + "')");
        }
        Path tmp = null;
        try {
            tmp = Files.createTempDirectory("lakelora-gguf-");
            Path modelDir = Files.createDirectories(tmp.resolve("model"));
            Files.write(modelDir.resolve(ModelDir.CONFIG), fs.read(model + "/" + ModelDir.CONFIG));
            Path peft = Files.createDirectories(tmp.resolve("peft"));
            for (String f : new String[] {PeftAdapter.CONFIG_FILE, PeftAdapter.WEIGHTS_FILE}) {
                Files.write(peft.resolve(f), fs.read(out + "/" + f));
            }
            ModelConfig mc = LlamaLoader.config(modelDir);
            Path local = tmp.resolve(GGUF_FILE);
            GgufExport.writeAdapter(PeftAdapter.load(peft, mc), mc, GgmlType.F32, local, v.name() + "@" + v.version());
            byte[] bytes = Files.readAllBytes(local);
            fs.writeAtomic(gguf, bytes);
            return bytes.length;
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + gguf, e);
        } finally {
            deleteTree(tmp);
        }
    }

    private static void deleteTree(Path dir) {
        if (dir == null) return;
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            LOG.warn("[export] could not remove {}: {}", dir, e.getMessage());
        }
    }
}
