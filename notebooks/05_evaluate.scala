// Databricks notebook source
// MAGIC %md
// MAGIC # 05 Evaluate and serve
// MAGIC
// MAGIC Evaluates one adapter version: eval loss and perplexity on the eval split of `token_blocks` (by default the table
// MAGIC and Delta version recorded with the version), the same for the base model alone, and greedy sample generations of
// MAGIC both. The result is appended to `<lake_root>/registry/adapter_evals` and a run report (`report.html`, `report.md`,
// MAGIC `loss_curve.png`, `evaluation.json`) goes to `<lake_root>/adapters/<name>/v<version>/evaluation/`.
// MAGIC Then the SQL functions `lora_generate(prompt)` and `lora_score(text)` are registered for the same version.
// MAGIC
// MAGIC **Prerequisites:** jobs 02 and 03 ran on the same lake; `model_path` is the adapter's base (checked by sha256),
// MAGIC e.g. the output of notebook 00; the job jar on the cluster; `conf_dir`.
// MAGIC Same job as `bin/lakelora evaluate --config conf/05_evaluate.yaml` and the bundle task `v05_evaluate`.

// COMMAND ----------

// conf/ of the repository, absolute: a workspace folder (a Git folder, or the bundle's files after `databricks bundle
// deploy -t dev`: /Workspace/Users/<you>/.bundle/lakelora/dev/files/conf) or a copy in the lake (/Volumes/..., s3://...)
val user = spark.sql("SELECT current_user()").first().getString(0)
dbutils.widgets.text("conf_dir", s"/Workspace/Users/$user/lakelora/conf", "conf/ directory (absolute path or URI)")
dbutils.widgets.text("lake_root", "/Volumes/main/lakelora/lake", "Lake root")
dbutils.widgets.text("adapter", "stories260k-shakespeare@latest", "Adapter (name@version | name@alias | name)")
dbutils.widgets.text("model_path", "/Volumes/main/lakelora/lake/models/stories260K-hf-nf4", "Base model directory")
dbutils.widgets.dropdown("quant", "nf4", Seq("nf4", "fp4", "none"), "Base weights")
dbutils.widgets.text("max_blocks", "0", "Eval blocks (0: all)")
dbutils.widgets.text("max_new_tokens", "48", "Tokens per sample generation")
dbutils.widgets.text("overrides", "", "More key=value overrides, space separated")

// COMMAND ----------

import io.lakelora.config.ConfigLoader
import io.lakelora.jobs.evaluate.{EvaluateConfig, EvaluateJob}
import java.nio.file.{Files, Path}
import scala.jdk.CollectionConverters._

// relative paths would resolve against the driver's working directory; dbutils.fs reads workspace files
// (file:/Workspace/...), volumes and cloud URIs on every access mode: copy the folder to the driver's local disk
val confUri = dbutils.widgets.get("conf_dir").stripSuffix("/")
require(confUri.startsWith("/") || confUri.matches("[a-z][a-z0-9+.-]*:/.*"), s"widget conf_dir is '$confUri', not " +
  "absolute. Fix: give /Workspace/Users/<you>/lakelora/conf, /Volumes/<catalog>/<schema>/<volume>/conf or a URI")
val confDir = Files.createTempDirectory("lakelora-").resolve("conf").toString
dbutils.fs.cp(if (confUri.startsWith("/Workspace/")) s"file:$confUri" else confUri, s"file:$confDir", recurse = true)
val lakeRoot = dbutils.widgets.get("lake_root")
val overrides = Seq(
  s"lake.root=$lakeRoot",
  s"adapter=${dbutils.widgets.get("adapter")}",
  s"model.path=${dbutils.widgets.get("model_path")}",
  s"model.quant=${dbutils.widgets.get("quant")}",
  s"data.max_blocks=${dbutils.widgets.get("max_blocks")}",
  s"samples.max_new_tokens=${dbutils.widgets.get("max_new_tokens")}")
val cfg = ConfigLoader.load(
  List(Path.of(confDir, "05_evaluate.yaml"), Path.of(confDir, "env", "databricks.yaml")).asJava,
  (overrides ++ dbutils.widgets.get("overrides").split("\\s+").filter(_.nonEmpty)).asJava,
  classOf[EvaluateConfig])
val result = EvaluateJob.run(spark, cfg)
result.asMap.asScala.foreach { case (k, v) => println(s"$k: $v") }

// COMMAND ----------

// MAGIC %md
// MAGIC The report:

// COMMAND ----------

displayHTML(dbutils.fs.head(result.reportDir + "/report.html", 10 * 1024 * 1024))

// COMMAND ----------

import io.lakelora.jobs.export.AdapterPaths
display(spark.read.format("delta").load(AdapterPaths.registryRoot(lakeRoot) + "/adapter_evals")
  .orderBy($"evaluated_at".desc))

// COMMAND ----------

// MAGIC %md
// MAGIC ## Serving with SQL
// MAGIC `lora_generate(prompt)` continues a prompt greedily; `lora_score(text)` is the mean negative log-likelihood in nats
// MAGIC per token. Executors load the base and the adapter from the lake once each and keep them.

// COMMAND ----------

import io.lakelora.jobs.serve.LoraUdfs
LoraUdfs.register(spark, AdapterPaths.registryRoot(lakeRoot), s"${result.adapter}@${result.version}",
  dbutils.widgets.get("model_path"),
  LoraUdfs.Options.defaults.withQuant(dbutils.widgets.get("quant")).withMaxNewTokens(48))

// COMMAND ----------

// MAGIC %sql
// MAGIC SELECT prompt, lora_generate(prompt) AS continuation, lora_score(prompt) AS nll
// MAGIC FROM VALUES ('Once upon a time'), ('The little girl was sad because') AS t(prompt)
