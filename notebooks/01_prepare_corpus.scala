// Databricks notebook source
// MAGIC %md
// MAGIC # 01 prepare corpus
// MAGIC Corpora in the lake -> Delta `corpus_clean` (normalized, PII-scrubbed, filtered, exact- and near-deduplicated
// MAGIC documents) and `corpus_quarantine` (rows that failed, as read, with a reason). The counts reconcile
// MAGIC (rows read = kept + quarantined + exact duplicates + near duplicates) and are recorded in `job_runs`.
// MAGIC
// MAGIC Prerequisites: the LakeLoRA job jar attached to the cluster (Databricks Runtime 17.3 LTS: Spark 4.0 with Delta),
// MAGIC the repository's `conf/` directory at an absolute path (widget `conf_dir`: a workspace folder or the lake), the
// MAGIC corpora at absolute paths or URIs (widget `inputs`, a YAML flow list with the keys of
// MAGIC `conf/01_prepare_corpus.yaml`: name, path, format, shape, ...), storage access through Unity Catalog or the
// MAGIC cluster (never credentials in the config). Job 00 need not have run for this one, but give it the same `lake_root`.
// MAGIC Same job as `bin/lakelora prepare --config conf/01_prepare_corpus.yaml`, the bundle task `p01_prepare` and
// MAGIC `spark-submit --class io.lakelora.jobs.prepare.PrepareCorpusJob`.

// COMMAND ----------

// conf/ of the repository, absolute: a workspace folder (a Git folder, or the bundle's files after `databricks bundle
// deploy -t dev`: /Workspace/Users/<you>/.bundle/lakelora/dev/files/conf) or a copy in the lake (/Volumes/..., s3://...)
val user = spark.sql("SELECT current_user()").first().getString(0)
dbutils.widgets.text("conf_dir", s"/Workspace/Users/$user/lakelora/conf", "conf/ directory (absolute path or URI)")
dbutils.widgets.text("lake_root", "/Volumes/main/lakelora/lake", "Lake root")
dbutils.widgets.text("inputs", "[{name: corpus, path: /Volumes/main/lakelora/raw/corpus, format: jsonl}]",
  "Corpus inputs (YAML flow list: name, path, format, shape)")
dbutils.widgets.dropdown("mode", "incremental", Seq("incremental", "full"), "Mode")
dbutils.widgets.text("run_id", "", "Run id (empty: a new one)")
dbutils.widgets.text("overrides", "", "More key=value overrides, space separated")

// COMMAND ----------

// widgets -> config: conf/01_prepare_corpus.yaml + conf/env/databricks.yaml beside it (env=databricks) + key=value
// overrides, read through the Hadoop FileSystem, the same layered YAML as the command line; unknown keys are errors
import io.lakelora.config.ConfigLoader
import io.lakelora.jobs.common.JobConfigs
import io.lakelora.jobs.prepare.{PrepareConfig, PrepareCorpusJob}
import scala.jdk.CollectionConverters._

// relative paths would resolve against the driver's working directory; workspace files are read as
// file:/Workspace/..., volumes and cloud URIs as given
val confDir = dbutils.widgets.get("conf_dir").stripSuffix("/")
require(confDir.startsWith("/") || confDir.matches("[a-z][a-z0-9+.-]*:/.*"), s"widget conf_dir is '$confDir', not " +
  "absolute. Fix: give /Workspace/Users/<you>/lakelora/conf, /Volumes/<catalog>/<schema>/<volume>/conf or a URI")
val confUri = if (confDir.startsWith("/Workspace/")) s"file:$confDir" else confDir
val overrides = Seq(
  s"lake.root=${dbutils.widgets.get("lake_root")}",
  s"inputs=${dbutils.widgets.get("inputs")}",
  s"mode=${dbutils.widgets.get("mode")}"
) ++ dbutils.widgets.get("overrides").split("\\s+").filter(_.nonEmpty)
val cfg = JobConfigs.load(List(s"$confUri/01_prepare_corpus.yaml").asJava, (Seq("env=databricks") ++ overrides).asJava,
  classOf[PrepareConfig], null)
cfg.validate()
println(ConfigLoader.toJson(cfg))

// COMMAND ----------

// config -> the job, on this notebook's Spark session (empty run id: a new one)
val runId = Option(dbutils.widgets.get("run_id")).filter(_.nonEmpty).orNull
val result = PrepareCorpusJob.run(spark, cfg, runId)
println(result.asMap())

// COMMAND ----------

// MAGIC %md
// MAGIC ## What happened

// COMMAND ----------

val lake = new io.lakelora.jobs.common.LakePaths(cfg.lake.root)
display(spark.read.format("delta").load(lake.table("job_runs")).orderBy($"finished_at".desc).limit(5))

// COMMAND ----------

display(spark.read.format("delta").load(lake.table("corpus_quarantine")).groupBy("source", "reason").count()
  .orderBy($"count".desc))
