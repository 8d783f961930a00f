// Databricks notebook source
// MAGIC %md
// MAGIC # 03 Train adapter
// MAGIC
// MAGIC Data-parallel QLoRA on the cluster's executors: reads Delta `token_blocks` (job 02) at a pinned Delta version,
// MAGIC every executor holds the frozen 4-bit base once and computes adapter gradients on its share of each global batch,
// MAGIC the driver sums them, divides by the global token count and applies AdamW. Checkpoints go to the lake; the result
// MAGIC is a new version in the Delta adapter registry (`<lake_root>/registry/adapters`) with lineage, the resolved config
// MAGIC and metrics, PEFT files and a run report (`<lake_root>/runs/<adapter>/<run_id>/{peft,report}`); per-step metrics
// MAGIC go to `<lake_root>/tables/train_metrics`.
// MAGIC
// MAGIC Running this notebook again with the same run id resumes from the last checkpoint; a run that already finished
// MAGIC registers nothing new. An empty `run_id` is derived from the resolved config and the data version.
// MAGIC
// MAGIC **Prerequisites:** jobs 00, 01 and 02 ran on the same lake; the base is the lake copy job 00 recorded for
// MAGIC `model_id` (`<lake_root>/tables/base_models`), which every executor reads from the lake (or `model_path`, a model
// MAGIC directory every executor can read, when set); the job jar on the cluster with the JVM flags of `databricks.yml`;
// MAGIC `conf_dir`. Same job as `bin/lakelora train --config conf/03_train.yaml` and the bundle task `t03_train`.

// COMMAND ----------

// MAGIC %md
// MAGIC ## GPU executors
// MAGIC
// MAGIC One training task runs per `train.workers` partition. To give each task a GPU, set on the cluster (Spark confs of
// MAGIC the cluster or of the `databricks.yml` job cluster; on spark-submit, `--conf`, see `docs/spark-submit.md`):
// MAGIC
// MAGIC | Setting | Value | Meaning |
// MAGIC |---|---|---|
// MAGIC | `spark.executor.resource.gpu.amount` | `1` | GPUs per executor |
// MAGIC | `spark.task.resource.gpu.amount` | `1` | GPUs per task: one training task per GPU |
// MAGIC | `spark.executor.resource.gpu.discoveryScript` | path of `bin/getGpusResources.sh` on the node | prints the node's GPUs (`nvidia-smi`) as `{"name":"gpu","addresses":["0",...]}` |
// MAGIC
// MAGIC Each task reads the GPU addresses Spark assigned to it from `TaskContext.resources()` (`"gpu"`) and hands them to
// MAGIC the model factory, which passes them to the kernel backend when it loads the base
// MAGIC (`io.lakelora.jobs.runtime.DataParallelStep.deviceAddresses`). The backend of this release is the CPU one (Java
// MAGIC Vector API), which ignores the addresses: with it the GPU confs only control how many tasks run per node. Kernel
// MAGIC threads per task: `threads_per_worker`, where 0 (the default) uses `spark.task.cpus`; with GPUs set
// MAGIC `spark.task.cpus` to the executor's cores.

// COMMAND ----------

// conf/ of the repository, absolute: a workspace folder (a Git folder, or the bundle's files after `databricks bundle
// deploy -t dev`: /Workspace/Users/<you>/.bundle/lakelora/dev/files/conf) or a copy in the lake (/Volumes/..., s3://...)
val user = spark.sql("SELECT current_user()").first().getString(0)
dbutils.widgets.text("conf_dir", s"/Workspace/Users/$user/lakelora/conf", "conf/ directory (absolute path or URI)")
dbutils.widgets.text("lake_root", "/Volumes/main/lakelora/lake", "Lake root")
dbutils.widgets.text("model_id", "stories260K", "Base model id (job 00's, in tables/base_models)")
dbutils.widgets.text("model_path", "", "Base model directory instead of the lake copy (empty: the lake copy)")
dbutils.widgets.dropdown("quant", "nf4", Seq("nf4", "fp4", "int8", "none"), "Base weights")
dbutils.widgets.text("adapter_name", "stories260k-shakespeare", "Adapter name in the registry")
dbutils.widgets.text("steps", "60", "Optimizer steps (0: train.epochs passes)")
dbutils.widgets.text("workers", "2", "Workers (training tasks per step)")
dbutils.widgets.text("threads_per_worker", "0", "Kernel threads per task (0: spark.task.cpus)")
dbutils.widgets.dropdown("sync", "every_step", Seq("every_step", "local_sgd"), "Gradient synchronization")
dbutils.widgets.text("run_id", "", "Run id (empty: derived; the same id resumes the same run)")
dbutils.widgets.text("overrides", "", "More key=value overrides, space separated")

// COMMAND ----------

// widgets -> config: conf/03_train.yaml + conf/env/databricks.yaml beside it (env=databricks) + key=value overrides,
// read through the Hadoop FileSystem; unknown keys are errors
import io.lakelora.config.ConfigLoader
import io.lakelora.jobs.common.JobConfigs
import io.lakelora.jobs.train.{TrainJob, TrainJobConfig}
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
  s"model.quant=${dbutils.widgets.get("quant")}",
  s"train.adapter_name=${dbutils.widgets.get("adapter_name")}",
  s"train.steps=${dbutils.widgets.get("steps")}",
  s"train.workers=${dbutils.widgets.get("workers")}",
  s"train.threads_per_worker=${dbutils.widgets.get("threads_per_worker")}",
  s"train.sync=${dbutils.widgets.get("sync")}"
) ++ Option(dbutils.widgets.get("model_path")).filter(_.nonEmpty).map(p => s"model.path=$p") ++
  dbutils.widgets.get("overrides").split("\\s+").filter(_.nonEmpty)
val cfg = JobConfigs.load(List(s"$confUri/03_train.yaml").asJava, (Seq("env=databricks") ++ overrides).asJava,
  classOf[TrainJobConfig], null)
cfg.validate()
println(ConfigLoader.toJson(cfg))

// COMMAND ----------

// config -> the job, on this notebook's Spark session (null run id: derived from the config and the data version)
val runId = Option(dbutils.widgets.get("run_id")).filter(_.nonEmpty).orNull
val result = TrainJob.run(spark, cfg, runId)
result.asMap.asScala.foreach { case (k, v) => println(s"$k: $v") }

// COMMAND ----------

// MAGIC %md
// MAGIC ## Loss curve and the registered version

// COMMAND ----------

display(spark.read.format("delta").load(result.metricsTable).filter($"run_id" === result.runId)
  .select("step", "loss", "eval_loss", "lr", "grad_norm", "tokens_per_second").orderBy("step"))

// COMMAND ----------

display(spark.read.format("delta").load(result.registry + "/adapters")
  .filter($"adapter_name" === result.adapterName).drop("adapter_safetensors", "config_json").orderBy($"version".desc))

// COMMAND ----------

// MAGIC %md
// MAGIC The run report (config, lineage, metrics, loss curve, sample generations) is at the `report` path printed above;
// MAGIC export the version with notebook 04 and evaluate it with notebook 05.
