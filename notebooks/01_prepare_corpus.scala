// Databricks notebook source
// MAGIC %md
// MAGIC # 01 prepare corpus
// MAGIC Corpora in the lake -> Delta `corpus_clean` (normalized, PII-scrubbed, filtered, exact- and near-deduplicated
// MAGIC documents) and `corpus_quarantine` (rows that failed, as read, with a reason). The counts reconcile
// MAGIC (rows read = kept + quarantined + exact duplicates + near duplicates) and are recorded in `job_runs`.
// MAGIC
// MAGIC Prerequisites: the LakeLoRA jobs jar and its dependencies attached to the cluster (Spark 4.x with Delta), a
// MAGIC config file readable from the driver (e.g. `conf/01_prepare_corpus.yaml` of the repository in a Databricks Repo),
// MAGIC storage credentials configured on the cluster (never in the config). Same job as
// MAGIC `bin/lakelora prepare --config conf/01_prepare_corpus.yaml` and `spark-submit --class io.lakelora.jobs.prepare.PrepareCorpusJob`.

// COMMAND ----------

dbutils.widgets.text("config", "/Workspace/Repos/lakelora/conf/01_prepare_corpus.yaml", "Config file")
dbutils.widgets.text("lake_root", "s3a://my-bucket/lake", "Lake root")
dbutils.widgets.dropdown("mode", "incremental", Seq("incremental", "full"), "Mode")
dbutils.widgets.text("overrides", "", "More key=value overrides, space separated")

// COMMAND ----------

// widgets -> config: the same layered YAML and key=value overrides as the command line; unknown keys are errors
import io.lakelora.config.ConfigLoader
import io.lakelora.jobs.prepare.{PrepareConfig, PrepareCorpusJob}
import java.nio.file.Paths
import scala.jdk.CollectionConverters._

val overrides = Seq(s"lake.root=${dbutils.widgets.get("lake_root")}", s"mode=${dbutils.widgets.get("mode")}") ++
  dbutils.widgets.get("overrides").split("\\s+").filter(_.nonEmpty)
val cfg = ConfigLoader.load(List(Paths.get(dbutils.widgets.get("config"))).asJava, overrides.asJava, classOf[PrepareConfig])
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
