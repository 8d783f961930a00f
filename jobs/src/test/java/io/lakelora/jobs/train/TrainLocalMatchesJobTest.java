package io.lakelora.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.cli.TrainLocalCommand;
import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.testing.TestSpark;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.ModelConfig;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.tokenizer.Tokenizer;
import io.lakelora.train.Document;
import io.lakelora.train.TokenBlocks;
import io.lakelora.train.TrainConfig;
import io.lakelora.train.TrainingData;
import io.lakelora.util.Assets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * One training core: {@code train-local} and job 03 with one worker, given the same settings and the same blocks, end
 * with the same adapter bit for bit (stories260K, NF4 with double quantization, all-linear r=4, dropout on, AdamW,
 * cosine schedule, 6 steps of 4 blocks in micro-batches of 2).
 */
class TrainLocalMatchesJobTest {
    private static final Path MODEL = Assets.require("models/stories260K-hf");
    private static final Path DATA = Assets.require("corpora/tinystories_sample.txt");
    static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = TestSpark.start(Map.of());
    }

    @AfterAll
    static void stop() {
        TestSpark.stop(spark);
    }

    /** The settings both runs share, as train-local keys (job 03 takes the same lora/optimizer/schedule sections). */
    private static final List<String> SHARED = List.of(
            "lora.r=4",
            "lora.lora_alpha=8",
            "lora.target_modules=[all-linear]",
            "lora.lora_dropout=0.1",
            "lora.use_rslora=false",
            "lora.init_lora_weights=true",
            "optimizer.type=adamw",
            "optimizer.lr=0.003",
            "optimizer.betas=[0.9, 0.999]",
            "optimizer.eps=1.0e-8",
            "optimizer.weight_decay=0.01",
            "optimizer.max_grad_norm=1.0",
            "schedule.type=cosine",
            "schedule.warmup_steps=2",
            "schedule.warmup_ratio=0.0");

    @Test
    void trainLocalIsJob03WithOneWorker(@TempDir Path dir) throws Exception {
        // ---- train-local on the corpus file
        Path local = dir.resolve("local");
        List<String> args = new ArrayList<>(List.of(
                "--model",
                MODEL.toString(),
                "--data",
                DATA.toString(),
                "--out",
                local.toString(),
                "block_size=64",
                "micro_batch=2",
                "grad_accum=2",
                "steps=6",
                "eval_fraction=0.1",
                "eval_interval=3",
                "checkpoint_interval=3",
                "seed=7",
                "quant=nf4",
                "double_quant=true",
                "threads=1"));
        args.addAll(SHARED);
        assertEquals(0, new CommandLine(new TrainLocalCommand()).execute(args.toArray(String[]::new)));

        // ---- the same blocks as a token_blocks table: train-local's packing and eval split, in block order
        TrainConfig tc = TrainConfig.load(List.of(), args.subList(6, args.size()));
        TokenBlocks[] split;
        try (Tokenizer tok = Tokenizer.load(MODEL)) {
            List<Document> docs = TrainingData.read(DATA, tok);
            split = TokenBlocks.pack(docs, 64, tok.padId() >= 0 ? tok.padId() : tok.eosId())
                    .split(tc.evalFraction(), tc.seed());
        }
        assertTrue(split[0].size() >= 8, "enough blocks for two epochs of 4: " + split[0].size());
        String lake = dir.resolve("lake").toString();
        List<Row> rows = new ArrayList<>();
        for (int s = 0; s < 2; s++) {
            TokenBlocks b = split[s];
            for (int i = 0; i < b.size(); i++) {
                rows.add(RowFactory.create(
                        String.format("%s-%06d", s == 0 ? "a" : "b", i),
                        s == 0 ? "train" : "eval",
                        boxed(b.ids(i)),
                        boxed(b.labels(i)),
                        boxed(b.positions(i))));
            }
        }
        StructType schema = new StructType()
                .add("block_id", DataTypes.StringType)
                .add("split", DataTypes.StringType)
                .add("input_ids", DataTypes.createArrayType(DataTypes.IntegerType))
                .add("labels", DataTypes.createArrayType(DataTypes.IntegerType))
                .add("position_ids", DataTypes.createArrayType(DataTypes.IntegerType));
        spark.createDataFrame(rows, schema)
                .write()
                .format("delta")
                .save(new LakePaths(lake).table(LakePaths.TOKEN_BLOCKS));

        // ---- job 03 on one worker with the same settings
        List<String> job = new ArrayList<>(List.of(
                "model.path=" + MODEL,
                "model.quant=nf4",
                "model.double_quant=true",
                "train.steps=6",
                "train.global_batch_blocks=4",
                "train.micro_batch=2",
                "train.workers=1",
                "train.threads_per_worker=1",
                "train.seed=7",
                "train.eval_interval=3",
                "train.checkpoint_interval=3",
                "report.max_new_tokens=4"));
        job.addAll(SHARED);
        TrainJob.Outcome out =
                TrainJob.run(spark, TrainJobEndToEndTest.trainConfig(lake, job.toArray(String[]::new)), null);
        assertEquals(6L, out.steps());

        ModelConfig mc = LlamaLoader.config(MODEL);
        PeftAdapter.Loaded a = PeftAdapter.load(local, mc);
        PeftAdapter.Loaded b = PeftAdapter.load(Path.of(java.net.URI.create(out.peftPath())), mc);
        assertEquals(a.layout().size(), b.layout().size());
        assertTrue(
                a.layout().size() > 10_000,
                "all-linear r=4 on stories260K: " + a.layout().size());
        for (AdapterLayout.Tensor t : a.layout().tensors()) {
            float[] x = Arrays.copyOfRange(a.params(), t.offset(), t.offset() + t.size());
            float[] y = Arrays.copyOfRange(b.params(), t.offset(), t.offset() + t.size());
            for (int i = 0; i < x.length; i++) {
                if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(y[i])) {
                    throw new AssertionError(t.peftKey() + "[" + i + "]: train-local " + x[i] + ", job 03 " + y[i]);
                }
            }
        }
        // trained: the B matrices left their zero init
        assertFalse(Arrays.equals(a.params(), new float[a.params().length]));
    }

    private static List<Integer> boxed(int[] v) {
        List<Integer> l = new ArrayList<>(v.length);
        for (int x : v) l.add(x);
        return l;
    }
}
