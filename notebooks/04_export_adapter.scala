// Databricks notebook source
// MAGIC %md
// MAGIC # 04 Export adapter
// MAGIC
// MAGIC Writes one version of the Delta adapter registry (`<lake_root>/registry`) as a PEFT adapter directory:
// MAGIC `adapter_config.json` and `adapter_model.safetensors` byte for byte as registered, plus `lakelora_lineage.json`
// MAGIC (version, run id, base model + sha256, dataset table + Delta version). Hugging Face PEFT
// MAGIC (`PeftModel.from_pretrained(base, dir)`), vLLM (`--lora-modules name=dir`) and llama.cpp's
// MAGIC `convert_lora_to_gguf.py` read it. Exporting the same version again changes nothing.
// MAGIC
// MAGIC **Prerequisites:** jobs 00 to 03 ran on the same lake and job 03 registered the adapter (`adapter`: the
// MAGIC `adapter_name` of notebook 03, `@latest` by default); the job jar on the cluster; `conf_dir`.
// MAGIC Same job as `bin/lakelora export --config conf/04_export.yaml` and the bundle task `e04_export`.

// COMMAND ----------

// conf/ of the repository, absolute: a workspace folder (a Git folder, or the bundle's files after `databricks bundle
// deploy -t dev`: /Workspace/Users/<you>/.bundle/lakelora/dev/files/conf) or a copy in the lake (/Volumes/..., s3://...)
val user = spark.sql("SELECT current_user()").first().getString(0)
dbutils.widgets.text("conf_dir", s"/Workspace/Users/$user/lakelora/conf", "conf/ directory (absolute path or URI)")
dbutils.widgets.text("lake_root", "/Volumes/main/lakelora/lake", "Lake root")
dbutils.widgets.text("adapter", "stories260k-shakespeare@latest", "Adapter (name@version | name@alias | name)")
dbutils.widgets.text("out", "", "Output directory (empty: <lake_root>/exports/<name>/v<version>)")
dbutils.widgets.text("run_id", "", "Run id (empty: a new one)")
dbutils.widgets.text("overrides", "", "More key=value overrides, space separated")

// COMMAND ----------

// MAGIC %md
// MAGIC The registered versions and aliases:

// COMMAND ----------

import io.lakelora.jobs.runtime.AdapterPaths
val registry = AdapterPaths.registryRoot(dbutils.widgets.get("lake_root"))
display(spark.read.format("delta").load(registry + "/adapters").drop("adapter_safetensors", "config_json")
  .orderBy("adapter_name", "version"))
display(spark.read.format("delta").load(registry + "/adapter_aliases"))

// COMMAND ----------

// widgets -> config: conf/04_export.yaml + conf/env/databricks.yaml beside it (env=databricks) + key=value overrides,
// read through the Hadoop FileSystem; unknown keys are errors
import io.lakelora.config.ConfigLoader
import io.lakelora.jobs.common.JobConfigs
import io.lakelora.jobs.export.{ExportAdapterJob, ExportConfig}
import scala.jdk.CollectionConverters._

// relative paths would resolve against the driver's working directory; workspace files are read as
// file:/Workspace/..., volumes and cloud URIs as given
val confDir = dbutils.widgets.get("conf_dir").stripSuffix("/")
require(confDir.startsWith("/") || confDir.matches("[a-z][a-z0-9+.-]*:/.*"), s"widget conf_dir is '$confDir', not " +
  "absolute. Fix: give /Workspace/Users/<you>/lakelora/conf, /Volumes/<catalog>/<schema>/<volume>/conf or a URI")
val confUri = if (confDir.startsWith("/Workspace/")) s"file:$confDir" else confDir
val overrides = Seq(
  s"lake.root=${dbutils.widgets.get("lake_root")}",
  s"adapter=${dbutils.widgets.get("adapter")}"
) ++ Option(dbutils.widgets.get("out")).filter(_.nonEmpty).map(o => s"out=$o") ++
  dbutils.widgets.get("overrides").split("\\s+").filter(_.nonEmpty)
val cfg = JobConfigs.load(List(s"$confUri/04_export.yaml").asJava, (Seq("env=databricks") ++ overrides).asJava,
  classOf[ExportConfig], null)
println(ConfigLoader.toJson(cfg))

// COMMAND ----------

// config -> the job, on this notebook's Spark session (empty run id: a new one)
val runId = Option(dbutils.widgets.get("run_id")).filter(_.nonEmpty).orNull
val result = ExportAdapterJob.run(spark, cfg, runId)
result.asMap.asScala.foreach { case (k, v) => println(s"$k: $v") }

// COMMAND ----------

display(dbutils.fs.ls(result.dir))
println(dbutils.fs.head(result.dir + "/" + ExportAdapterJob.LINEAGE_FILE))
