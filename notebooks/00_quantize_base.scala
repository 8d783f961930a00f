// Databricks notebook source
// MAGIC %md
// MAGIC # 00 Quantize base
// MAGIC
// MAGIC Quantizes a fp32/fp16/bf16 base model (Hugging Face layout, in a volume or cloud storage) to QLoRA's NF4 with
// MAGIC double quantization, layer by layer on the driver, and writes it to `<lake_root>/models/<model_id>-<quant>` in
// MAGIC transformers' bitsandbytes layout. Training (03), evaluation (05) and the serving UDFs load that copy as stored on
// MAGIC every executor. A `_COMPLETE` marker (source sha256, settings) is written last; running this notebook again on the
// MAGIC same model and settings does nothing.
// MAGIC
// MAGIC **Prerequisites:** the LakeLoRA job jar attached to the cluster (`jobs/target/lakelora-jobs-*-all.jar`), the cluster's
// MAGIC JVM flags from `databricks.yml`, and the repository's `conf/` directory at an absolute path (widget `conf_dir`).
// MAGIC Same job as `bin/lakelora quantize-base --config conf/00_quantize_base.yaml` and the bundle task `q00_quantize_base`.

// COMMAND ----------

// conf/ of the repository, absolute: a workspace folder (a Git folder, or the bundle's files after `databricks bundle
// deploy -t dev`: /Workspace/Users/<you>/.bundle/lakelora/dev/files/conf) or a copy in the lake (/Volumes/..., s3://...)
val user = spark.sql("SELECT current_user()").first().getString(0)
dbutils.widgets.text("conf_dir", s"/Workspace/Users/$user/lakelora/conf", "conf/ directory (absolute path or URI)")
dbutils.widgets.text("lake_root", "/Volumes/main/lakelora/lake", "Lake root")
dbutils.widgets.text("model_path", "/Volumes/main/lakelora/models/stories260K-hf", "Base model directory")
dbutils.widgets.text("model_id", "", "Model id in the lake (empty: the directory's name)")
dbutils.widgets.dropdown("quant_type", "nf4", Seq("nf4", "fp4", "int8"), "Quantization")
dbutils.widgets.dropdown("double_quant", "true", Seq("true", "false"), "Double quantization")
dbutils.widgets.text("overrides", "", "More key=value overrides, space separated")

// COMMAND ----------

import io.lakelora.config.ConfigLoader
import io.lakelora.jobs.quantize.{QuantizeBaseJob, QuantizeConfig}
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
  s"model.path=${dbutils.widgets.get("model_path")}",
  s"quant.type=${dbutils.widgets.get("quant_type")}",
  s"quant.double_quant=${dbutils.widgets.get("double_quant")}"
) ++ Option(dbutils.widgets.get("model_id")).filter(_.nonEmpty).map(id => s"model.id=$id")
val cfg = ConfigLoader.load(
  List(Path.of(confDir, "00_quantize_base.yaml"), Path.of(confDir, "env", "databricks.yaml")).asJava,
  (overrides ++ dbutils.widgets.get("overrides").split("\\s+").filter(_.nonEmpty)).asJava,
  classOf[QuantizeConfig])
println(ConfigLoader.toJson(cfg))

// COMMAND ----------

val result = QuantizeBaseJob.run(spark, cfg)
result.asMap.asScala.foreach { case (k, v) => println(s"$k: $v") }

// COMMAND ----------

// MAGIC %md
// MAGIC Point `model.path` of jobs 03 and 05 (and the `model` argument of `LoraUdfs.register`) at the output printed above.
