// Databricks notebook source
// MAGIC %md
// MAGIC # 02 tokenize and pack
// MAGIC Delta `corpus_clean` -> Delta `token_blocks`: rows rendered with the model's chat template (a built-in fallback
// MAGIC when it has none), tokenized with the model's tokenizer (one per executor JVM), labels -100 on prompt tokens, EOS
// MAGIC appended and trained, packed into fixed-length blocks (best-fit-decreasing or greedy) with per-document position
// MAGIC ids and boundaries, split train/eval by document hash. The written version of `token_blocks` is recorded in
// MAGIC `job_runs` for the training job's lineage.
// MAGIC
// MAGIC Prerequisites: jobs 00 and 01 ran on the same lake. The tokenizer and chat template are those of the lake copy
// MAGIC that job 00 recorded for `model_id` in `<lake_root>/tables/base_models`; executors read them from the lake, so no
// MAGIC node needs a local copy. Same job as `bin/lakelora tokenize-pack --config conf/02_tokenize_pack.yaml` and the
// MAGIC bundle task `t02_tokenize_pack`.

// COMMAND ----------

// conf/ of the repository, absolute: a workspace folder (a Git folder, or the bundle's files after `databricks bundle
// deploy -t dev`: /Workspace/Users/<you>/.bundle/lakelora/dev/files/conf) or a copy in the lake (/Volumes/..., s3://...)
val user = spark.sql("SELECT current_user()").first().getString(0)
dbutils.widgets.text("conf_dir", s"/Workspace/Users/$user/lakelora/conf", "conf/ directory (absolute path or URI)")
dbutils.widgets.text("lake_root", "/Volumes/main/lakelora/lake", "Lake root")
dbutils.widgets.text("model_id", "stories260K", "Base model id (job 00's, in tables/base_models)")
dbutils.widgets.text("block_size", "512", "Block size (tokens, at most the model's context length)")
dbutils.widgets.dropdown("strategy", "best_fit_decreasing", Seq("best_fit_decreasing", "greedy"), "Packing")
dbutils.widgets.dropdown("mode", "incremental", Seq("incremental", "full"), "Mode")
dbutils.widgets.text("run_id", "", "Run id (empty: a new one)")
dbutils.widgets.text("overrides", "", "More key=value overrides, space separated")

// COMMAND ----------

// widgets -> config: conf/02_tokenize_pack.yaml + conf/env/databricks.yaml beside it (env=databricks) + key=value
// overrides, read through the Hadoop FileSystem; unknown keys are errors
import io.lakelora.config.ConfigLoader
import io.lakelora.jobs.common.JobConfigs
import io.lakelora.jobs.tokenize.{TokenizeConfig, TokenizePackJob}
import scala.jdk.CollectionConverters._

// relative paths would resolve against the driver's working directory; workspace files are read as
// file:/Workspace/..., volumes and cloud URIs as given
val confDir = dbutils.widgets.get("conf_dir").stripSuffix("/")
require(confDir.startsWith("/") || confDir.matches("[a-z][a-z0-9+.-]*:/.*"), s"widget conf_dir is '$confDir', not " +
  "absolute. Fix: give /Workspace/Users/<you>/lakelora/conf, /Volumes/<catalog>/<schema>/<volume>/conf or a URI")
val confUri = if (confDir.startsWith("/Workspace/")) s"file:$confDir" else confDir
val overrides = Seq(
  s"lake.root=${dbutils.widgets.get("lake_root")}",
  s"model.id=${dbutils.widgets.get("model_id")}",
  s"pack.block_size=${dbutils.widgets.get("block_size")}",
  s"pack.strategy=${dbutils.widgets.get("strategy")}",
  s"mode=${dbutils.widgets.get("mode")}"
) ++ dbutils.widgets.get("overrides").split("\\s+").filter(_.nonEmpty)
val cfg = JobConfigs.load(List(s"$confUri/02_tokenize_pack.yaml").asJava, (Seq("env=databricks") ++ overrides).asJava,
  classOf[TokenizeConfig], null)
cfg.validate()
println(ConfigLoader.toJson(cfg))

// COMMAND ----------

// config -> the job, on this notebook's Spark session (empty run id: a new one)
val runId = Option(dbutils.widgets.get("run_id")).filter(_.nonEmpty).orNull
val result = TokenizePackJob.run(spark, cfg, runId)
println(result.asMap())

// COMMAND ----------

// MAGIC %md
// MAGIC ## Look at the blocks, and count tokens as the model does

// COMMAND ----------

import org.apache.spark.sql.functions._
val lake = new io.lakelora.jobs.common.LakePaths(cfg.lake.root)
display(spark.read.format("delta").load(lake.table("token_blocks"))
  .groupBy("split").agg(count("*").as("blocks"), sum("n_tokens").as("tokens"), sum("n_trained").as("trained"),
    avg($"n_tokens" / $"block_size").as("fill")))

// COMMAND ----------

// The SQL function token_count(text, tokenizer_path) of io.lakelora.udfs.LakeLoraUdfs takes a path every executor can
// read locally. With the model in the lake, count through LakeFs.local instead: the path itself on a local file system,
// else one copy of the model's tokenizer files per executor JVM.
import io.lakelora.jobs.common.BaseModels
import io.lakelora.jobs.lake.LakeFs
import io.lakelora.udfs.SharedTokenizers
val tokenizerUri = Option(cfg.model.tokenizer).filter(_.nonEmpty)
  .getOrElse(BaseModels.resolve(spark, lake, cfg.model.id, "model.id").lakePath)
spark.udf.register("lake_token_count", (text: String) =>
  if (text == null) null
  else Integer.valueOf(SharedTokenizers.get(LakeFs.local(tokenizerUri, null)).encode(text, true).length))
display(spark.sql(s"""
  SELECT doc_id, kind, lake_token_count(coalesce(text, output)) AS tokens
  FROM delta.`${lake.table("corpus_clean")}` LIMIT 20"""))
