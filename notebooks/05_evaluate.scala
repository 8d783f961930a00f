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
// MAGIC **Prerequisites:** jobs 00, 02 and 03 ran on the same lake. The base is the lake copy that job 00 recorded in
// MAGIC `<lake_root>/tables/base_models` for the base model id registered with the adapter version (the `model_id` of
// MAGIC notebooks 02 and 03), read by every executor from the lake; `model_path`, when set, replaces it (checked by
// MAGIC sha256 against the recorded base). The job jar on the cluster; `conf_dir`.
// MAGIC Same job as `bin/lakelora evaluate --config conf/05_evaluate.yaml` and the bundle task `v05_evaluate`.

// COMMAND ----------

// conf/ of the repository, absolute: a workspace folder (a Git folder, or the bundle's files after `databricks bundle
// deploy -t dev`: /Workspace/Users/<you>/.bundle/lakelora/dev/files/conf) or a copy in the lake (/Volumes/..., s3://...)
val user = spark.sql("SELECT current_user()").first().getString(0)
dbutils.widgets.text("conf_dir", s"/Workspace/Users/$user/lakelora/conf", "conf/ directory (absolute path or URI)")
dbutils.widgets.text("lake_root", "/Volumes/main/lakelora/lake", "Lake root")
dbutils.widgets.text("adapter", "stories260k-shakespeare@latest", "Adapter (name@version | name@alias | name)")
dbutils.widgets.text("model_path", "", "Base model directory instead of the lake copy (empty: the lake copy)")
dbutils.widgets.dropdown("quant", "nf4", Seq("nf4", "fp4", "none"), "Base weights")
dbutils.widgets.text("max_blocks", "0", "Eval blocks (0: all)")
dbutils.widgets.text("max_new_tokens", "48", "Tokens per sample generation")
dbutils.widgets.text("threads_per_worker", "0", "Kernel threads per task (0: spark.task.cpus)")
dbutils.widgets.text("run_id", "", "Run id (empty: a new one)")
dbutils.widgets.text("overrides", "", "More key=value overrides, space separated")

// COMMAND ----------

// widgets -> config: conf/05_evaluate.yaml + conf/env/databricks.yaml beside it (env=databricks) + key=value
// overrides, read through the Hadoop FileSystem; unknown keys are errors
import io.lakelora.config.ConfigLoader
import io.lakelora.jobs.common.JobConfigs
import io.lakelora.jobs.evaluate.{EvaluateConfig, EvaluateJob}
import scala.jdk.CollectionConverters._

// relative paths would resolve against the driver's working directory; workspace files are read as
// file:/Workspace/..., volumes and cloud URIs as given
val confDir = dbutils.widgets.get("conf_dir").stripSuffix("/")
require(confDir.startsWith("/") || confDir.matches("[a-z][a-z0-9+.-]*:/.*"), s"widget conf_dir is '$confDir', not " +
  "absolute. Fix: give /Workspace/Users/<you>/lakelora/conf, /Volumes/<catalog>/<schema>/<volume>/conf or a URI")
val confUri = if (confDir.startsWith("/Workspace/")) s"file:$confDir" else confDir
val lakeRoot = dbutils.widgets.get("lake_root")
val overrides = Seq(
  s"lake.root=$lakeRoot",
  s"adapter=${dbutils.widgets.get("adapter")}",
  s"model.quant=${dbutils.widgets.get("quant")}",
  s"data.max_blocks=${dbutils.widgets.get("max_blocks")}",
  s"samples.max_new_tokens=${dbutils.widgets.get("max_new_tokens")}",
  s"eval.threads_per_worker=${dbutils.widgets.get("threads_per_worker")}"
) ++ Option(dbutils.widgets.get("model_path")).filter(_.nonEmpty).map(p => s"model.path=$p") ++
  dbutils.widgets.get("overrides").split("\\s+").filter(_.nonEmpty)
val cfg = JobConfigs.load(List(s"$confUri/05_evaluate.yaml").asJava, (Seq("env=databricks") ++ overrides).asJava,
  classOf[EvaluateConfig], null)
println(ConfigLoader.toJson(cfg))

// COMMAND ----------

// config -> the job, on this notebook's Spark session (empty run id: a new one)
val runId = Option(dbutils.widgets.get("run_id")).filter(_.nonEmpty).orNull
val result = EvaluateJob.run(spark, cfg, runId)
result.asMap.asScala.foreach { case (k, v) => println(s"$k: $v") }

// COMMAND ----------

// MAGIC %md
// MAGIC The report:

// COMMAND ----------

displayHTML(dbutils.fs.head(result.reportDir + "/report.html", 10 * 1024 * 1024))

// COMMAND ----------

import io.lakelora.jobs.runtime.AdapterPaths
display(spark.read.format("delta").load(AdapterPaths.registryRoot(lakeRoot) + "/adapter_evals")
  .orderBy($"evaluated_at".desc))

// COMMAND ----------

// MAGIC %md
// MAGIC ## Serving with SQL
// MAGIC `lora_generate(prompt)` continues a prompt greedily; `lora_score(text)` is the mean negative log-likelihood in
// MAGIC nats per token. `LoraUdfs.registerFromLake` serves the evaluated version on the lake copy of its base model (the id
// MAGIC recorded with the version, looked up in `tables/base_models`); executors load the base and the adapter from the
// MAGIC lake once each and keep them. For another copy of the base use `LoraUdfs.register(spark, registryRoot, adapter,
// MAGIC modelUri, options)`.

// COMMAND ----------

// kernel threads per SQL call: the task's CPUs, as for the jobs
import io.lakelora.jobs.serve.LoraUdfs
val served = LoraUdfs.registerFromLake(spark, lakeRoot, s"${result.adapter}@${result.version}",
  LoraUdfs.Options.defaults.withQuant(cfg.model.quant).withMaxNewTokens(cfg.samples.maxNewTokens)
    .withThreads(spark.conf.get("spark.task.cpus", "1").toInt))
println(s"${served.generateName} and ${served.scoreName}: ${served.adapter}@${served.version} on ${served.modelUri}")

// COMMAND ----------

// MAGIC %sql
// MAGIC SELECT prompt, lora_generate(prompt) AS continuation, lora_score(prompt) AS nll
// MAGIC FROM VALUES ('Once upon a time'), ('The little girl was sad because') AS t(prompt)
