package io.lakelora.jobs.bench;

import static org.apache.spark.sql.functions.col;

import io.lakelora.cli.BaseCommand;
import io.lakelora.config.ConfigLoader;
import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.common.SparkSessions;
import io.lakelora.jobs.prepare.PrepareConfig;
import io.lakelora.jobs.prepare.PrepareCorpusJob;
import io.lakelora.jobs.tokenize.TokenizeConfig;
import io.lakelora.jobs.tokenize.TokenizePackJob;
import io.lakelora.text.ChatMessage;
import io.lakelora.text.ExampleEncoder;
import io.lakelora.udfs.SharedTokenizers;
import io.lakelora.util.Assets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lakelora bench-data}: throughput of the data jobs on local[2], each beside its peer measured in the same
 * run. Job 01 (rows/s, end to end with Delta writes) on the four shared corpora; job 02 tokens/s three ways on the
 * same documents: end to end (with Delta writes), the tokenize+pack transform alone, and the same encoder called
 * directly in this JVM (1 and 2 threads). The Spark overhead is reported as ratios. Timings on a shared machine are
 * noisy: compare ratios, and rerun.
 */
@Command(
        name = "bench-data",
        description = "Benchmark: job 01 rows/s, job 02 tokens/s on local[2] vs the tokenizer "
                + "called directly in one JVM; Spark overhead ratios.")
public final class BenchDataCommand extends BaseCommand {
    @Option(names = "--config", description = "Job 01 config (default conf/01_prepare_corpus.yaml).")
    Path prepareConf = Path.of("conf/01_prepare_corpus.yaml");

    @Option(names = "--tokenize-config", description = "Job 02 config (default conf/02_tokenize_pack.yaml).")
    Path tokenizeConf = Path.of("conf/02_tokenize_pack.yaml");

    @Option(names = "--lake", description = "Lake root for the run (default: a new temp directory).")
    String lake;

    @Option(names = "--rounds", description = "Timed rounds of the direct and transform measurements (best is kept).")
    int rounds = 3;

    @Override
    protected Map<String, Object> execute() throws Exception {
        String lakeRoot = lake != null
                ? lake
                : Files.createTempDirectory("lakelora-bench").toString();
        PrepareConfig p = ConfigLoader.load(
                List.of(prepareConf),
                List.of("lake.root=" + lakeRoot, "mode=full", "spark.master=local[2]"),
                PrepareConfig.class);
        for (PrepareConfig.Input in : p.inputs) in.path = assetPath(in.path);
        TokenizeConfig t = ConfigLoader.load(
                List.of(tokenizeConf),
                List.of("lake.root=" + lakeRoot, "mode=full", "spark.master=local[2]"),
                TokenizeConfig.class);
        t.model.tokenizer = assetPath(t.model.tokenizer);
        SparkSession spark = SparkSessions.getOrCreate(p, Map.of("spark.ui.enabled", "false"));
        log("[bench-data] lake " + lakeRoot + "; warming up Spark");
        spark.range(1000).selectExpr("sum(id)").first();

        long a = System.nanoTime();
        PrepareCorpusJob.Result pr = PrepareCorpusJob.run(spark, p);
        double prepSec = (System.nanoTime() - a) / 1e9;

        // job 02 end to end
        a = System.nanoTime();
        TokenizePackJob.Result tr = TokenizePackJob.run(spark, t);
        double tokSec = (System.nanoTime() - a) / 1e9;
        long tokens = tr.count("tokens");

        // the same documents: the transform alone on Spark, and the encoder called directly
        Dataset<Row> docs = spark.read()
                .format("delta")
                .load(new LakePaths(lakeRoot).table(LakePaths.CORPUS_CLEAN))
                .persist();
        docs.count();
        double sparkBest = Double.MAX_VALUE;
        long sparkTokens = 0;
        for (int i = 0; i < rounds; i++) {
            long s = System.nanoTime();
            Row agg = TokenizePackJob.tokenizeAndPack(TokenizePackJob.assignSplit(docs, t), t)
                    .where(col("record").equalTo("block"))
                    .agg(org.apache.spark.sql.functions.sum("n_tokens"))
                    .first();
            sparkBest = Math.min(sparkBest, (System.nanoTime() - s) / 1e9);
            sparkTokens = agg.getLong(0);
        }
        List<Row> rows = docs.select("kind", "text", "instruction", "input", "output", "messages")
                .collectAsList();
        docs.unpersist();
        ExampleEncoder enc = SharedTokenizers.encoder(
                t.model.tokenizer, t.template.override, t.template.fallback, t.template.trainOnInputs);
        encodeAll(enc, rows, 0, 1); // warm-up (JIT)
        double direct1 = Double.MAX_VALUE;
        double direct2 = Double.MAX_VALUE;
        long directTokens = 0;
        for (int i = 0; i < rounds; i++) {
            long s = System.nanoTime();
            directTokens = encodeAll(enc, rows, 0, 1);
            direct1 = Math.min(direct1, (System.nanoTime() - s) / 1e9);
            s = System.nanoTime();
            directTokens = parallel(enc, rows, 2);
            direct2 = Math.min(direct2, (System.nanoTime() - s) / 1e9);
        }

        Map<String, Object> out = new LinkedHashMap<>();
        out.put("job01_rows", pr.read());
        out.put("job01_seconds", round(prepSec));
        out.put("job01_rows_per_s", round(pr.read() / prepSec));
        out.put("job02_tokens", tokens);
        out.put("job02_seconds_end_to_end", round(tokSec));
        out.put("job02_tokens_per_s_end_to_end", round(tokens / tokSec));
        out.put("job02_transform_tokens", sparkTokens);
        out.put("job02_transform_seconds", round(sparkBest));
        out.put("job02_transform_tokens_per_s", round(sparkTokens / sparkBest));
        out.put("direct_tokens", directTokens);
        out.put("direct_1_thread_tokens_per_s", round(directTokens / direct1));
        out.put("direct_2_threads_tokens_per_s", round(directTokens / direct2));
        out.put(
                "spark_overhead_transform_vs_direct_2_threads",
                round((directTokens / direct2) / (sparkTokens / sparkBest)));
        out.put("spark_overhead_end_to_end_vs_direct_2_threads", round((directTokens / direct2) / (tokens / tokSec)));
        out.put("cores", Runtime.getRuntime().availableProcessors());
        out.put("note", "one run on a shared machine; best of " + rounds + " rounds for transform and direct");
        return out;
    }

    private static String assetPath(String path) {
        String prefix = "../shared/assets/";
        return path.startsWith(prefix) && !Files.exists(Path.of(path))
                ? Assets.root().resolve(path.substring(prefix.length())).toString()
                : path;
    }

    private static long encodeAll(ExampleEncoder enc, List<Row> rows, int from, int step) {
        long n = 0;
        for (int i = from; i < rows.size(); i += step) {
            Row r = rows.get(i);
            String kind = r.getString(0);
            ExampleEncoder.Encoded e;
            if (kind.equals("text")) {
                e = enc.encodeText(r.getString(1));
            } else if (kind.equals("instruction")) {
                e = enc.encodeChat(ChatMessage.fromInstruction(r.getString(2), r.getString(3), r.getString(4)));
            } else {
                List<ChatMessage> conv = new ArrayList<>();
                for (Row m : r.<Row>getList(5)) conv.add(new ChatMessage(m.getString(0), m.getString(1)));
                e = enc.encodeChat(conv);
            }
            n += e.inputIds().length;
        }
        return n;
    }

    private static long parallel(ExampleEncoder enc, List<Row> rows, int threads) {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Long>> parts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                final int from = t;
                parts.add(pool.submit(() -> encodeAll(enc, rows, from, threads)));
            }
            long n = 0;
            for (Future<Long> f : parts) n += f.get();
            return n;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            pool.shutdown();
        }
    }

    private static double round(double x) {
        return Math.round(x * 100) / 100.0;
    }
}
