// Databricks notebook source
// MAGIC %md
// MAGIC # 02 tokenize and pack
// MAGIC Delta `corpus_clean` -> Delta `token_blocks`: rows rendered with the model's chat template (a built-in fallback
// MAGIC when it has none), tokenized with the model's tokenizer (one per executor JVM), labels -100 on prompt tokens, EOS
// MAGIC appended and trained, packed into fixed-length blocks (best-fit-decreasing or greedy) with per-document position
// MAGIC ids and boundaries, split train/eval by document hash. The written version of `token_blocks` is recorded in
// MAGIC `job_runs` for the training job's lineage.
// MAGIC
// MAGIC Prerequisites: job 01 has run on the same lake; the model directory (tokenizer.json, tokenizer_config.json) is
// MAGIC readable at the same local path on every node (e.g. under `/dbfs/` or a Unity Catalog volume). Same job as
// MAGIC `bin/lakelora tokenize-pack --config conf/02_tokenize_pack.yaml`.

// COMMAND ----------

// conf/ of the repository, absolute: a workspace folder (a Git folder, or the bundle's files after `databricks bundle
// deploy -t dev`: /Workspace/Users/<you>/.bundle/lakelora/dev/files/conf) or a copy in the lake (/Volumes/..., s3://...)
val user = spark.sql("SELECT current_user()").first().getString(0)
dbutils.widgets.text("conf_dir", s"/Workspace/Users/$user/lakelora/conf", "conf/ directory (absolute path or URI)")
dbutils.widgets.text("lake_root", "/Volumes/main/lakelora/lake", "Lake root")
dbutils.widgets.text("tokenizer", "/dbfs/models/my-model", "Model directory (tokenizer)")
dbutils.widgets.text("block_size", "2048", "Block size (tokens)")
dbutils.widgets.dropdown("strategy", "best_fit_decreasing", Seq("best_fit_decreasing", "greedy"), "Packing")
dbutils.widgets.dropdown("mode", "incremental", Seq("incremental", "full"), "Mode")
dbutils.widgets.text("overrides", "", "More key=value overrides, space separated")

// COMMAND ----------

// widgets -> config: conf/02_tokenize_pack.yaml + conf/env/databricks.yaml + key=value overrides
import io.lakelora.config.ConfigLoader
import io.lakelora.jobs.tokenize.{TokenizeConfig, TokenizePackJob}
import java.nio.file.{Files, Path}
import scala.jdk.CollectionConverters._

// relative paths would resolve against the driver's working directory; dbutils.fs reads workspace files
// (file:/Workspace/...), volumes and cloud URIs on every access mode: copy the folder to the driver's local disk
val confUri = dbutils.widgets.get("conf_dir").stripSuffix("/")
require(confUri.startsWith("/") || confUri.matches("[a-z][a-z0-9+.-]*:/.*"), s"widget conf_dir is '$confUri', not " +
  "absolute. Fix: give /Workspace/Users/<you>/lakelora/conf, /Volumes/<catalog>/<schema>/<volume>/conf or a URI")
val confDir = Files.createTempDirectory("lakelora-").resolve("conf").toString
dbutils.fs.cp(if (confUri.startsWith("/Workspace/")) s"file:$confUri" else confUri, s"file:$confDir", recurse = true)
val overrides = Seq(
  s"lake.root=${dbutils.widgets.get("lake_root")}",
  s"model.tokenizer=${dbutils.widgets.get("tokenizer")}",
  s"pack.block_size=${dbutils.widgets.get("block_size")}",
  s"pack.strategy=${dbutils.widgets.get("strategy")}",
  s"mode=${dbutils.widgets.get("mode")}") ++ dbutils.widgets.get("overrides").split("\\s+").filter(_.nonEmpty)
val cfg = ConfigLoader.load(
  List(Path.of(confDir, "02_tokenize_pack.yaml"), Path.of(confDir, "env", "databricks.yaml")).asJava,
  overrides.asJava, classOf[TokenizeConfig])
cfg.validate()
println(ConfigLoader.toJson(cfg))

// COMMAND ----------

// config -> the job
val result = TokenizePackJob.run(spark, cfg)
println(result.asMap())

// COMMAND ----------

// MAGIC %md
// MAGIC ## Look at the blocks, and the SQL functions

// COMMAND ----------

import org.apache.spark.sql.functions._
val lake = new io.lakelora.jobs.common.LakePaths(cfg.lake.root)
display(spark.read.format("delta").load(lake.table("token_blocks"))
  .groupBy("split").agg(count("*").as("blocks"), sum("n_tokens").as("tokens"), sum("n_trained").as("trained"),
    avg($"n_tokens" / $"block_size").as("fill")))

// COMMAND ----------

io.lakelora.udfs.LakeLoraUdfs.register(spark)
display(spark.sql(s"""
  SELECT doc_id, kind, token_count(coalesce(text, output), '${cfg.model.tokenizer}') AS tokens
  FROM delta.`${lake.table("corpus_clean")}` LIMIT 20"""))
