package io.lakelora.jobs.demo;

import io.lakelora.jobs.common.CommonConfig;
import io.lakelora.jobs.common.JobConfigs;
import io.lakelora.jobs.common.SparkSessions;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code lakelora demo}: the README's first command, the whole pipeline on local Spark and a lake directory. */
@Command(
        name = "demo",
        description = "Run the whole pipeline (00 quantize -> 01 prepare -> 02 tokenize/pack -> 03 "
                + "train -> 04 export -> 05 evaluate) on local Spark with a lake directory on disk, the stories260K model and "
                + "the shared corpora, and print where every table, version and file is.")
public final class DemoCommand extends io.lakelora.cli.BaseCommand {
    @Option(names = "--lake", description = "Lake root (directory or URI; default ${DEFAULT-VALUE}).")
    String lake = "lake";

    @Option(names = "--steps", description = "Training steps of job 03 (default ${DEFAULT-VALUE}).")
    long steps = 60;

    @Option(names = "--conf", description = "The conf/ directory (default ${DEFAULT-VALUE}).")
    Path conf = Path.of("conf");

    @Parameters(paramLabel = "KEY=VALUE", description = "Overrides for every job, e.g. spark.master=local[4].")
    List<String> overrides = new ArrayList<>();

    @Override
    protected Map<String, Object> execute() {
        CommonConfig cc = JobConfigs.load(
                List.of(conf.resolve("base.yaml").toString()),
                List.of("lake.root=" + lake),
                CommonConfig.class,
                "local");
        SparkSession spark = SparkSessions.getOrCreate(cc, Map.of());
        long t0 = System.nanoTime();
        DemoPipeline.Outcome o = DemoPipeline.run(spark, conf, lake, steps, overrides);
        Map<String, Object> m = o.asMap();
        m.put("wall_seconds", Math.round((System.nanoTime() - t0) / 1e8) / 10.0);
        return m;
    }

    @Override
    protected void printHuman(Map<String, Object> r, PrintStream out) {
        @SuppressWarnings("unchecked")
        Map<String, Object> train = (Map<String, Object>) r.get("03_train");
        @SuppressWarnings("unchecked")
        Map<String, Object> q = (Map<String, Object>) r.get("00_quantize_base");
        @SuppressWarnings("unchecked")
        Map<String, Object> ex = (Map<String, Object>) r.get("04_export");
        @SuppressWarnings("unchecked")
        Map<String, Object> ev = (Map<String, Object>) r.get("05_evaluate");
        String root = DemoPipeline.lakeUri(lake);
        out.println();
        out.println("LakeLoRA demo finished in " + r.get("wall_seconds") + " s. Lake: " + root);
        out.println("  00 quantized base      " + q.get("output"));
        out.println("  01 tables              " + root
                + "/tables/corpus_clean, corpus_quarantine, corpus_minhash, job_runs");
        out.println("  02 token blocks        " + train.get("dataset"));
        out.println("  03 adapter version     " + train.get("adapter") + "  (registry " + train.get("registry") + ")");
        out.println("     train/eval loss     " + fmt(train.get("train_loss")) + " / " + fmt(train.get("eval_loss"))
                + "  (" + train.get("steps") + " steps, run " + train.get("run_id") + ")");
        out.println("     metrics table       " + train.get("metrics_table"));
        out.println("     checkpoints         " + train.get("checkpoints"));
        out.println("     run report          " + train.get("report") + "/report.html");
        out.println("  04 PEFT export         " + ex.get("dir"));
        out.println("  05 evaluation          eval loss " + fmt(ev.get("eval_loss")) + " vs base "
                + fmt(ev.get("base_eval_loss")) + "; report " + ev.get("report"));
        out.println();
        String dir = String.valueOf(ex.get("dir"));
        if (dir.startsWith("file:")) dir = Path.of(java.net.URI.create(dir)).toString();
        out.println("Next: bin/lakelora generate --model "
                + io.lakelora.util.Assets.root().resolve("models/stories260K-hf") + " --adapter " + dir
                + " --prompt \"Once upon a time\"");
    }

    private static String fmt(Object d) {
        return d instanceof Number n ? String.format("%.4f", n.doubleValue()) : String.valueOf(d);
    }
}
