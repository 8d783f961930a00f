package io.lakelora.jobs.quantize;

import io.lakelora.config.ConfigLoader;
import io.lakelora.jobs.common.BaseModels;
import io.lakelora.jobs.common.JobCommand;
import io.lakelora.jobs.common.JobRun;
import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.jobs.runtime.QuantizedModelMarker;
import io.lakelora.jobs.runtime.WeightsHash;
import io.lakelora.model.ModelDir;
import io.lakelora.quant.Quantizer;
import io.lakelora.quant.io.QuantizedCheckpoint;
import io.lakelora.util.Fields;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Job 00 quantize base: a fp32/fp16/bf16 model directory (local or in the lake) -> a 4-bit (or int8) copy in the lake,
 * in transformers' bitsandbytes layout, which every executor of the training and serving jobs then loads as stored
 * instead of quantizing the base again.
 *
 * <p>The model is quantized layer by layer on the driver ({@link QuantizedCheckpoint#save}, never more than one fp32
 * matrix in memory) into a local scratch directory, uploaded to a temporary directory beside the target, renamed into
 * place, and a {@code _COMPLETE} marker ({@link QuantizedModelMarker}) is written last. A rerun whose marker names the
 * same source sha256 and settings does nothing; an output that holds something else is an error unless
 * {@code output.overwrite}. The run goes to {@code job_runs}.
 *
 * <p>Run: {@code bin/lakelora quantize-base --config conf/00_quantize_base.yaml [key=value ...]}, or spark-submit with
 * this class as the main class and the same arguments.
 */
public final class QuantizeBaseJob {
    private static final Logger LOG = LoggerFactory.getLogger(QuantizeBaseJob.class);

    public static final String JOB = "00_quantize_base";

    private QuantizeBaseJob() {}

    /** spark-submit entry point: the same arguments as {@code bin/lakelora quantize-base}. */
    public static void main(String[] args) {
        JobCommand.runMain("quantize-base", new QuantizeBaseCommand(), args);
    }

    /** What a run did: {@code created} is false when the output already held this quantization. */
    public record Result(
            String runId,
            @Fields.Key("status") boolean created,
            String output,
            @Fields.Skip QuantizedModelMarker marker,
            @Fields.Skip double seconds) {
        /** The marker's fields the CLI prints; its settings follow in words ({@code quant}). */
        private static final List<String> MARKER_KEYS = List.of(
                "model_id", "source", "source_sha256", "sha256", "bits_per_param", "source_bytes", "output_bytes");

        public Map<String, Object> asMap() {
            Map<String, Object> m = Fields.of(this);
            m.put("status", created ? "quantized" : "unchanged");
            Map<String, Object> mk = Fields.of(marker);
            mk.keySet().retainAll(MARKER_KEYS);
            m.putAll(mk);
            m.put("quant", marker.settings());
            m.put("seconds", Math.round(seconds * 10) / 10.0);
            return m;
        }
    }

    /** {@link #run(SparkSession, QuantizeConfig, String)} with a new run id. */
    public static Result run(SparkSession spark, QuantizeConfig cfg) {
        return run(spark, cfg, null);
    }

    /**
     * Quantizes with the session's Hadoop configuration (S3A settings) and logs the run to {@code job_runs} under
     * {@code runId} (the scheduler's; null: a new one).
     */
    public static Result run(SparkSession spark, QuantizeConfig cfg, String runId) {
        JobRun run = new JobRun(JOB, runId);
        run.mode = "full";
        run.configJson = ConfigLoader.toJson(cfg);
        Result r = quantize(spark.sparkContext().hadoopConfiguration(), cfg, run.runId);
        run.counts.put("output_bytes", r.marker().outputBytes());
        run.counts.put("source_bytes", r.marker().sourceBytes());
        run.details.put(r.created() ? "quantized" : "unchanged", 1L);
        run.message = (r.created() ? "quantized to " : "already quantized at ") + r.output();
        LakePaths lake = new LakePaths(cfg.lake.root);
        QuantizedModelMarker m = r.marker();
        BaseModels.record(
                spark,
                lake,
                new BaseModels.Entry(
                        m.modelId(),
                        r.output(),
                        m.quantType(),
                        m.source(),
                        m.sourceSha256(),
                        m.sha256(),
                        new LakeFs(spark.sparkContext().hadoopConfiguration()).fingerprint(r.output()),
                        run.runId));
        run.record(spark, lake, "succeeded");
        return r;
    }

    /** The job without Spark: quantize {@code model.path} into the output directory unless it is there already. */
    public static Result quantize(Configuration conf, QuantizeConfig cfg, String runId) {
        cfg.validate();
        long t0 = System.nanoTime();
        LakeFs fs = new LakeFs(conf);
        Quantizer quantizer = cfg.quantizer();
        String source = LakePaths.toUri(cfg.model.path);
        if (!fs.exists(source + "/" + ModelDir.CONFIG)) {
            throw new IllegalArgumentException("config key 'model.path': no model at " + source + " (no "
                    + ModelDir.CONFIG + " there). Fix: point model.path at a model directory in Hugging Face layout "
                    + "(config.json, model.safetensors, tokenizer.json), a local path or a lake URI");
        }
        String modelId = cfg.model.id != null ? cfg.model.id : lastSegment(source);
        String output = cfg.output.path != null
                ? LakePaths.toUri(cfg.output.path)
                : new LakePaths(cfg.lake.root).root() + "/models/" + modelId + "-"
                        + quantizer.type().id();
        LOG.info("[quantize-base] " + source + " -> " + output + " ("
                + quantizer.type().id() + ", blocksize " + quantizer.blocksize() + ", double_quant "
                + quantizer.doubleQuant() + ")");
        Map<String, String> fingerprint = fingerprint(conf, source);
        Optional<QuantizedModelMarker> existing = QuantizedModelMarker.read(fs, output);
        // a rerun on the same, unchanged source files decides without downloading or hashing the weights
        if (existing.isPresent()
                && existing.get().source().equals(source)
                && fingerprint.equals(existing.get().sourceFiles())
                && existing.get().sameSettings(quantizer)) {
            LOG.info("[quantize-base] " + output + " already holds this quantization of " + source + " (source files "
                    + "unchanged: names, sizes, modification times): nothing to do");
            return new Result(runId, false, output, existing.get(), (System.nanoTime() - t0) / 1e9);
        }

        Path scratch = scratchRoot(cfg);
        Path local = fs.localCopy(source, scratch.resolve("sources"));
        Path tmp = null;
        try {
            ModelDir model = ModelDir.open(local);
            String sourceSha = model.weightsSha256();
            if (existing.isPresent()) {
                QuantizedModelMarker m = existing.get();
                if (m.matches(sourceSha, quantizer)) {
                    LOG.info("[quantize-base] " + output + " already holds this quantization (source sha256 "
                            + sourceSha + "): nothing to do");
                    return new Result(runId, false, output, m, (System.nanoTime() - t0) / 1e9);
                }
                if (!cfg.output.overwrite) {
                    throw new IllegalArgumentException("output " + output + " already holds a quantization of another "
                            + "source or with other settings (source sha256 " + m.sourceSha256() + ", " + m.settings()
                            + "; this run: source sha256 " + sourceSha + ", "
                            + quantizer.type().id() + " blocksize "
                            + quantizer.blocksize() + (quantizer.doubleQuant() ? " double-quant" : "") + "). Adapters "
                            + "trained on it would lose their base. Fix: set output.path (or model.id) to a new "
                            + "directory, or output.overwrite=true to replace it");
                }
                LOG.info("[quantize-base] output.overwrite: replacing " + output + " (" + m.settings()
                        + ", source sha256 " + m.sourceSha256() + ")");
            }
            tmp = newDir(scratch, "quantized-");
            QuantizedCheckpoint.Summary s = QuantizedCheckpoint.save(local, tmp, quantizer);
            List<String> files = new ArrayList<>();
            try (Stream<Path> l = Files.list(tmp)) {
                l.filter(Files::isRegularFile)
                        .map(p -> p.getFileName().toString())
                        .sorted()
                        .forEach(files::add);
            }
            QuantizedModelMarker marker = new QuantizedModelMarker(
                    QuantizedModelMarker.FORMAT,
                    modelId,
                    source,
                    sourceSha,
                    WeightsHash.of(tmp),
                    quantizer.type().id(),
                    quantizer.blocksize(),
                    quantizer.doubleQuant(),
                    s.bitsPerParam(),
                    s.sourceBytes(),
                    s.outputBytes(),
                    files,
                    fingerprint,
                    Instant.now().toString());
            publish(fs, tmp, output, marker);
            double sec = (System.nanoTime() - t0) / 1e9;
            LOG.info(String.format(
                    "[quantize-base] wrote %s: %d linear tensors at %.3f bits/param, %.1f MB -> %.1f MB " + "in %.1f s",
                    output, s.linearTensors(), s.bitsPerParam(), s.sourceBytes() / 1e6, s.outputBytes() / 1e6, sec));
            return new Result(runId, true, output, marker, sec);
        } catch (IOException e) {
            throw new UncheckedIOException("quantizing " + source + " to " + output, e);
        } finally {
            deleteQuietly(tmp);
            if (!local.equals(localPath(source))) deleteQuietly(local); // the driver's copy of a remote source
        }
    }

    /** The source directory's plain files: name -> "size:modification time" (what a rerun compares first). */
    static Map<String, String> fingerprint(Configuration conf, String dir) {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(dir);
        Map<String, String> m = new TreeMap<>();
        try {
            for (FileStatus st : p.getFileSystem(conf).listStatus(p)) {
                if (st.isFile()) m.put(st.getPath().getName(), st.getLen() + ":" + st.getModificationTime());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + dir, e);
        }
        return m;
    }

    /** The local directory of a file: URI (or scheme-less path), else null. */
    private static Path localPath(String uri) {
        java.net.URI u = new org.apache.hadoop.fs.Path(uri).toUri();
        return u.getScheme() == null || u.getScheme().equals("file") ? Path.of(u.getPath()) : null;
    }

    /**
     * Uploads {@code local} to a temporary directory beside {@code output}, replaces {@code output} with it and writes
     * the marker last: a reader that finds the marker finds every file.
     */
    static void publish(LakeFs fs, Path local, String output, QuantizedModelMarker marker) throws IOException {
        org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(output);
        org.apache.hadoop.fs.Path staging =
                new org.apache.hadoop.fs.Path(target.getParent(), "." + target.getName() + ".tmp-" + UUID.randomUUID());
        FileSystem hfs = target.getFileSystem(fs.conf());
        fs.uploadDir(local, staging.toString());
        if (hfs.exists(target) && !hfs.delete(target, true)) {
            throw new IOException("cannot remove the old " + target);
        }
        hfs.mkdirs(target.getParent());
        if (!hfs.rename(staging, target)) {
            throw new IOException("rename " + staging + " -> " + target + " failed");
        }
        fs.writeAtomic(output + "/" + QuantizedModelMarker.FILE, marker.toJson());
    }

    static Path scratchRoot(QuantizeConfig cfg) {
        Path p = cfg.output.localDir != null
                ? Path.of(cfg.output.localDir)
                : Path.of(System.getProperty("java.io.tmpdir"), "lakelora-quantize");
        try {
            return Files.createDirectories(p);
        } catch (IOException e) {
            throw new UncheckedIOException("config key 'output.local_dir': cannot create " + p, e);
        }
    }

    private static Path newDir(Path root, String prefix) {
        try {
            return Files.createTempDirectory(root, prefix);
        } catch (IOException e) {
            throw new UncheckedIOException("creating a scratch directory under " + root, e);
        }
    }

    static String lastSegment(String uri) {
        String s = uri;
        while (s.endsWith("/")) s = s.substring(0, s.length() - 1);
        return s.substring(s.lastIndexOf('/') + 1);
    }

    static void deleteQuietly(Path dir) {
        if (dir == null || !Files.exists(dir)) return;
        try (Stream<Path> w = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) w.sorted(Comparator.reverseOrder())::iterator) Files.deleteIfExists(p);
        } catch (IOException e) {
            LOG.warn("[quantize-base] could not remove scratch directory {}: {}", dir, e.toString());
        }
    }
}
