package io.lakelora.jobs.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.export.ExportAdapterJob;
import io.lakelora.jobs.export.ExportConfig;
import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.jobs.quantize.QuantizeBaseJob;
import io.lakelora.jobs.quantize.QuantizeConfig;
import io.lakelora.jobs.registry.AdapterRegistry;
import io.lakelora.jobs.runtime.AdapterExport;
import io.lakelora.jobs.runtime.AdapterPaths;
import io.lakelora.jobs.runtime.QuantizedModelMarker;
import io.lakelora.jobs.testing.Confs;
import io.lakelora.jobs.testing.S3Proxy;
import io.lakelora.jobs.testing.TestSpark;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.model.LlamaSession;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.LoraAdapter;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The serving side with the lake on S3 (s3proxy, a real S3 protocol server): job 00 reads the model from s3a:// and
 * writes its NF4 copy there, job 04 exports from an s3a registry, and the UDFs load base and adapter on the executors
 * through S3A, scoring exactly what the engine scores locally.
 */
class ServeOnS3Test {
    static S3Proxy s3;
    static SparkSession spark;

    @TempDir
    static Path tmp;
    // a bucket per run: executors cache remote models under their URI, so a fresh URI really downloads
    static final String BUCKET = "serve-" + UUID.randomUUID().toString().substring(0, 8);

    @BeforeAll
    static void start() {
        s3 = S3Proxy.start(BUCKET);
        spark = TestSpark.start(s3.sparkSettings());
        LoraServing.clear();
    }

    @AfterAll
    static void stop() {
        TestSpark.stop(spark);
        if (s3 != null) s3.close();
    }

    @Test
    void quantizeExportAndServeThroughS3a() throws Exception {
        String lake = "s3a://" + BUCKET + "/lake";
        LakeFs fs = new LakeFs(spark.sparkContext().hadoopConfiguration());
        fs.uploadDir(ServeFixtures.model(), "s3a://" + BUCKET + "/hf/stories260K-hf");

        QuantizeConfig qc = Confs.load(
                "00_quantize_base.yaml",
                QuantizeConfig.class,
                "lake.root=" + lake,
                "model.path=s3a://" + BUCKET + "/hf/stories260K-hf");
        qc.output.localDir = tmp.resolve("scratch").toString();
        QuantizeBaseJob.Result q = QuantizeBaseJob.run(spark, qc);
        String model = lake + "/models/stories260K-nf4";
        assertEquals(model, q.output());
        assertEquals(
                ServeFixtures.STORIES_SHA256,
                QuantizedModelMarker.read(fs, model).orElseThrow().sourceSha256());
        assertTrue(fs.list(model).contains("model.safetensors"), "files " + fs.list(model));

        Path peft = ServeFixtures.writeAdapter(tmp.resolve("peft"), 5);
        String registry = AdapterPaths.registryRoot(lake);
        new AdapterRegistry(spark, registry)
                .register(ServeFixtures.record(
                        "tiny", "run-1", peft, lake + "/tables/token_blocks", 1, ServeFixtures.STORIES_SHA256, null));
        ExportConfig ec = Confs.load("04_export.yaml", ExportConfig.class, "lake.root=" + lake, "adapter=tiny@1");
        AdapterExport.Result ex = ExportAdapterJob.run(spark, ec);
        assertEquals(lake + "/exports/tiny/v1", ex.dir());
        assertArrayEquals(
                Files.readAllBytes(peft.resolve(PeftAdapter.WEIGHTS_FILE)),
                fs.read(ex.dir() + "/" + PeftAdapter.WEIGHTS_FILE));

        LoraUdfs.Registered reg = LoraUdfs.register(spark, registry, "tiny@1", model, LoraUdfs.Options.defaults());
        assertEquals(ex.dir(), reg.adapterUri(), "the UDFs serve the export in the lake");
        String text = "Once upon a time, there was a little dog named Max.";
        Row r = spark.sql("SELECT lora_score('" + text + "')").first();

        LlamaWeights base = ServeFixtures.nf4Base();
        LoraAdapter adapter = LoraServing.toLoraAdapter(PeftAdapter.load(peft, base.arch()));
        try (Tokenizer tok = Tokenizer.load(ServeFixtures.model())) {
            int[] ids = tok.encode(text, true);
            double[] s = new LlamaSession(base, KernelProvider.withThreads(1), adapter, ids.length, 256).score(ids);
            assertEquals(s[0] / s[1], r.getDouble(0), 1e-9 * s[0] / s[1]);
        }
        assertEquals(List.of(model + "|nf4"), List.of(LoraServing.baseKeys().toArray()), "the base came from S3");
    }
}
