// Databricks notebook source
// MAGIC %md
// MAGIC # 00 Quantize base
// MAGIC
// MAGIC Quantizes a fp32/fp16/bf16 base model (Hugging Face layout, in a volume or cloud storage) to QLoRA's NF4 with
// MAGIC double quantization, layer by layer on the driver, and writes it to `<lake_root>/models/<model_id>-<quant>` in
// MAGIC transformers' bitsandbytes layout, with the model's tokenizer, chat template and config files beside it. The copy
// MAGIC is recorded under `model_id` in the Delta table `<lake_root>/tables/base_models`: jobs 02, 03 and 05 and the SQL
// MAGIC functions (`LoraUdfs.registerFromLake`) find the model there by its id, so every executor reads it from the lake.
// MAGIC A `_COMPLETE` marker (source sha256, settings) is written last; running this notebook again on the same model and
// MAGIC settings does nothing.
// MAGIC
// MAGIC **Prerequisites:** the LakeLoRA job jar attached to the cluster (`jobs/target/lakelora-jobs-*-all.jar`, built
// MAGIC with `-Pdbr`), the cluster's JVM flags from `databricks.yml`, the repository's `conf/` directory at an absolute
// MAGIC path (widget `conf_dir`), and the source model directory (`model_path`: config.json, model.safetensors, tokenizer
// MAGIC files) readable by the driver. Same job as `bin/lakelora quantize-base --config conf/00_quantize_base.yaml` and the
// MAGIC bundle task `q00_quantize_base`.

// COMMAND ----------

// conf/ of the repository, absolute: a workspace folder (a Git folder, or the bundle's files after `databricks bundle
// deploy -t dev`: /Workspace/Users/<you>/.bundle/lakelora/dev/files/conf) or a copy in the lake (/Volumes/..., s3://...)
val user = spark.sql("SELECT current_user()").first().getString(0)
dbutils.widgets.text("conf_dir", s"/Workspace/Users/$user/lakelora/conf", "conf/ directory (absolute path or URI)")
dbutils.widgets.text("lake_root", "/Volumes/main/lakelora/lake", "Lake root")
dbutils.widgets.text("model_path", "/Volumes/main/lakelora/models/stories260K-hf", "Source model directory (HF layout)")
dbutils.widgets.text("model_id", "stories260K", "Model id in the lake (jobs 02, 03 and 05 name it)")
dbutils.widgets.dropdown("quant_type", "nf4", Seq("nf4", "fp4", "int8"), "Quantization")
dbutils.widgets.dropdown("double_quant", "true", Seq("true", "false"), "Double quantization")
dbutils.widgets.text("run_id", "", "Run id (empty: a new one)")
dbutils.widgets.text("overrides", "", "More key=value overrides, space separated")

// COMMAND ----------

// widgets -> config: conf/00_quantize_base.yaml + conf/env/databricks.yaml beside it (env=databricks) + key=value
// overrides, read through the Hadoop FileSystem; unknown keys are errors
import io.lakelora.config.ConfigLoader
import io.lakelora.jobs.common.JobConfigs
import io.lakelora.jobs.quantize.{QuantizeBaseJob, QuantizeConfig}
import scala.jdk.CollectionConverters._

// relative paths would resolve against the driver's working directory; workspace files are read as
// file:/Workspace/..., volumes and cloud URIs as given
val confDir = dbutils.widgets.get("conf_dir").stripSuffix("/")
require(confDir.startsWith("/") || confDir.matches("[a-z][a-z0-9+.-]*:/.*"), s"widget conf_dir is '$confDir', not " +
  "absolute. Fix: give /Workspace/Users/<you>/lakelora/conf, /Volumes/<catalog>/<schema>/<volume>/conf or a URI")
val confUri = if (confDir.startsWith("/Workspace/")) s"file:$confDir" else confDir
val overrides = Seq(
  s"lake.root=${dbutils.widgets.get("lake_root")}",
  s"model.path=${dbutils.widgets.get("model_path")}",
  s"model.id=${dbutils.widgets.get("model_id")}",
  s"quant.type=${dbutils.widgets.get("quant_type")}",
  s"quant.double_quant=${dbutils.widgets.get("double_quant")}"
) ++ dbutils.widgets.get("overrides").split("\\s+").filter(_.nonEmpty)
val cfg = JobConfigs.load(List(s"$confUri/00_quantize_base.yaml").asJava, (Seq("env=databricks") ++ overrides).asJava,
  classOf[QuantizeConfig], null)
println(ConfigLoader.toJson(cfg))

// COMMAND ----------

// config -> the job, on this notebook's Spark session (empty run id: a new one)
val runId = Option(dbutils.widgets.get("run_id")).filter(_.nonEmpty).orNull
val result = QuantizeBaseJob.run(spark, cfg, runId)
result.asMap.asScala.foreach { case (k, v) => println(s"$k: $v") }

// COMMAND ----------

// MAGIC %md
// MAGIC The base models this lake holds, by id:

// COMMAND ----------

import io.lakelora.jobs.common.{BaseModels, LakePaths}
val lake = new LakePaths(cfg.lake.root)
display(spark.read.format("delta").load(lake.table(BaseModels.TABLE)).orderBy($"updated_at".desc))

// COMMAND ----------

// MAGIC %md
// MAGIC Run notebooks 02, 03 and 05 (and `LoraUdfs.registerFromLake`) with the same `lake_root`; 02 and 03 take this
// MAGIC `model_id`, 05 and the SQL functions the base model id recorded with the adapter version.
