// Databricks notebook source
// MAGIC %md
// MAGIC # 01 prepare corpus
// MAGIC Corpora in the lake -> Delta `corpus_clean` (normalized, PII-scrubbed, filtered, exact- and near-deduplicated
// MAGIC documents) and `corpus_quarantine` (rows that failed, as read, with a reason). The counts reconcile
// MAGIC (rows read = kept + quarantined + exact duplicates + near duplicates) and are recorded in `job_runs`.
// MAGIC
// MAGIC Prerequisites: the LakeLoRA job jar attached to the cluster (Databricks Runtime 17.3 LTS: Spark 4.0 with Delta),
// MAGIC the repository's `conf/` directory at an absolute path (widget `conf_dir`: a workspace folder or the lake),
// MAGIC storage access through Unity Catalog or the cluster (never credentials in the config). Same job as
// MAGIC `bin/lakelora prepare --config conf/01_prepare_corpus.yaml` and `spark-submit --class io.lakelora.jobs.prepare.PrepareCorpusJob`.

// COMMAND ----------

// conf/ of the repository, absolute: a workspace folder (a Git folder, or the bundle's files after `databricks bundle
// deploy -t dev`: /Workspace/Users/<you>/.bundle/lakelora/dev/files/conf) or a copy in the lake (/Volumes/..., s3://...)
val user = spark.sql("SELECT current_user()").first().getString(0)
dbutils.widgets.text("conf_dir", s"/Workspace/Users/$user/lakelora/conf", "conf/ directory (absolute path or URI)")
dbutils.widgets.text("lake_root", "/Volumes/main/lakelora/lake", "Lake root")
dbutils.widgets.dropdown("mode", "incremental", Seq("incremental", "full"), "Mode")
dbutils.widgets.text("overrides", "", "More key=value overrides, space separated")

// COMMAND ----------

// widgets -> config: conf/01_prepare_corpus.yaml + conf/env/databricks.yaml + key=value overrides, the same layered
// YAML as the command line; unknown keys are errors
import io.lakelora.config.ConfigLoader
import io.lakelora.jobs.prepare.{PrepareConfig, PrepareCorpusJob}
import java.nio.file.{Files, Path}
import scala.jdk.CollectionConverters._

// relative paths would resolve against the driver's working directory; dbutils.fs reads workspace files
// (file:/Workspace/...), volumes and cloud URIs on every access mode: copy the folder to the driver's local disk
val confUri = dbutils.widgets.get("conf_dir").stripSuffix("/")
require(confUri.startsWith("/") || confUri.matches("[a-z][a-z0-9+.-]*:/.*"), s"widget conf_dir is '$confUri', not " +
  "absolute. Fix: give /Workspace/Users/<you>/lakelora/conf, /Volumes/<catalog>/<schema>/<volume>/conf or a URI")
val confDir = Files.createTempDirectory("lakelora-").resolve("conf").toString
dbutils.fs.cp(if (confUri.startsWith("/Workspace/")) s"file:$confUri" else confUri, s"file:$confDir", recurse = true)
val overrides = Seq(s"lake.root=${dbutils.widgets.get("lake_root")}", s"mode=${dbutils.widgets.get("mode")}") ++
  dbutils.widgets.get("overrides").split("\\s+").filter(_.nonEmpty)
val cfg = ConfigLoader.load(
  List(Path.of(confDir, "01_prepare_corpus.yaml"), Path.of(confDir, "env", "databricks.yaml")).asJava,
  overrides.asJava, classOf[PrepareConfig])
cfg.validate()
println(ConfigLoader.toJson(cfg))

// COMMAND ----------

// config -> the job, on this notebook's Spark session
val result = PrepareCorpusJob.run(spark, cfg)
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
