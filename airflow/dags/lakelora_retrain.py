"""LakeLoRA retraining DAGs: retrain an adapter when new corpus data lands.

Two DAGs with the same shape, pick the one matching your platform (enable only one of them):

* ``lakelora_retrain_spark_submit`` -- runs the six pipeline jobs with spark-submit (YARN, Kubernetes or standalone,
  through the Spark connection ``spark_default``), one SparkSubmitOperator per job:
  00 quantize-base -> 01 prepare -> 02 tokenize-pack -> 03 train -> 04 export -> 05 evaluate.
* ``lakelora_retrain_databricks`` -- triggers the Databricks job deployed by databricks.yml
  (``databricks bundle deploy``), which chains the same six jobs, with DatabricksRunNowOperator (connection
  ``databricks_default``).

Both start with a sensor that waits until the corpus location (Variable ``lakelora_corpus_uri``: a directory or file on
S3 or a shared filesystem) holds files modified inside the DAG run's data interval (new data since the previous run);
without new data the run ends as skipped at the sensor's timeout. The sensor counts the files job 01 reads: every file
under the location except names starting with ``_`` or ``.`` (Spark's hidden files). The spark-submit DAG's job 01
gets exactly that location as its one input; the Databricks job reads its bundle variable ``corpus_inputs`` (set it to
the same location when you deploy the bundle).

What each spark-submit job gets (Airflow Variables rendered by Jinja when the task runs; defaults in DEFAULTS):

- every job: ``--config <lakelora_conf_dir>/NN_<job>.yaml --run-id airflow-<run id> env=<lakelora_env>
  lake.root=<lakelora_lake_root>``
- 00 quantize-base: ``model.id=<lakelora_model_id> model.path=<lakelora_model_path>`` (the source model)
- 01 prepare: ``inputs=[{name: corpus, path: <lakelora_corpus_uri>, format: <lakelora_corpus_format>,
  shape: <lakelora_corpus_shape>}]``
- 02 tokenize-pack, 03 train: ``model.id=<lakelora_model_id>`` (the lake copy job 00 recorded in tables/base_models)
- 03 train: ``train.adapter_name=<lakelora_adapter_name>``; 04 export, 05 evaluate: ``adapter=<that name>@latest``
- then the Variable ``lakelora_settings_<job>`` (job: quantize_base, prepare, tokenize_pack, train, export,
  evaluate), if set: more key=value overrides, shell-quoted, e.g. ``train.steps=200 lora.r=16``

Nothing is relative to a working directory: configs, jar, model and corpus are URIs that the driver (and for the
corpus and lake, every executor) reads, so client and cluster deploy mode run the same. ``env`` defaults to ``none``:
spark-submit's master and no conf/env overlay; set ``lakelora_env`` to ``s3`` for a lake on S3, ``k8s,s3`` for several
overlays in order, or a .yaml URI of your own. Delta comes from ``--packages`` (``lakelora_packages``), or from
``--jars`` (``lakelora_jars``) where the cluster has no Maven access.

Idempotent reruns: every job gets ``--run-id`` derived from Airflow's run id (one per DAG run, the same for every task,
retry and manual clear of that run), so a rerun of a DAG run is the same LakeLoRA run to the jobs, which key what they
write by run id, rather than a new one: job 01 skips the files it processed, job 03 registers nothing new. The
Databricks trigger also passes an idempotency token per try, so a retried trigger call does not start a duplicate job
run.

Requirements: apache-airflow >= 2.7 with apache-airflow-providers-apache-spark >= 4.8 (public template field names),
-databricks and -amazon (for an s3:// or s3a:// corpus). Settings are Airflow Variables read when a task runs (Jinja,
no database access while the file is parsed). No credentials here: S3 through the AWS connection, Spark and Databricks
through their connections.
"""
from __future__ import annotations

import os
import re
import shlex
from datetime import datetime, timedelta
from urllib.parse import unquote, urlparse

from airflow import DAG
from airflow.sensors.python import PythonSensor

# The pipeline: (task id, subcommand of io.lakelora.jobs.Main, job config under the conf directory).
PIPELINE = [
    ("q00_quantize_base", "quantize-base", "00_quantize_base.yaml"),
    ("p01_prepare", "prepare", "01_prepare_corpus.yaml"),
    ("t02_tokenize_pack", "tokenize-pack", "02_tokenize_pack.yaml"),
    ("t03_train", "train", "03_train.yaml"),
    ("e04_export", "export", "04_export.yaml"),
    ("v05_evaluate", "evaluate", "05_evaluate.yaml"),
]
MAIN_CLASS = "io.lakelora.jobs.Main"

# bin/jvm.args, one flag per element (a test checks they are equal): the Vector API, C2's per-method trap limit
# (see docs/spark-submit.md), Spark's module opens and headless AWT (the run report draws its loss curve), for the
# driver and the executors.
JVM_FLAGS = [
    "--add-modules=jdk.incubator.vector",
    "-XX:+IgnoreUnrecognizedVMOptions",
    "-XX:PerMethodTrapLimit=1000",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.net=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.cs=ALL-UNNAMED",
    "--add-opens=java.base/sun.security.action=ALL-UNNAMED",
    "--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
    "--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
    "-Djdk.reflect.useDirectMethodHandle=false",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djava.awt.headless=true",
]

# Open-source Spark 4 lacks Delta Lake: fetched at submission (the default of lakelora_packages). hadoop-aws and the
# AWS SDK S3 client are inside the shaded job jar (they must match the cluster's Hadoop 3.5); see docs/spark-submit.md.
PACKAGES = "io.delta:delta-spark_2.13:4.4.0"

# Airflow Variables (name -> default), rendered into templated operator fields when a task runs.
DEFAULTS = {
    # watched by the sensor and read by job 01: a directory (read recursively) or a file; s3a://, s3://, a local
    # path or file: URI on a filesystem every executor mounts
    "lakelora_corpus_uri": "s3a://my-bucket/corpus/",
    "lakelora_corpus_format": "jsonl",  # job 01's inputs[].format: jsonl | json | csv | parquet | text
    "lakelora_corpus_shape": "alpaca",  # job 01's inputs[].shape: alpaca | messages | text
    "lakelora_model_id": "stories260K",  # the base model's id in the lake (tables/base_models)
    "lakelora_model_path": "s3a://my-bucket/models/stories260K-hf",  # job 00's source model (HF layout)
    "lakelora_adapter_name": "lakelora-retrain",  # job 03 registers versions under it; 04 and 05 take the latest
    "lakelora_lake_root": "s3a://my-bucket/lakelora",
    "lakelora_env": "none",  # conf/env overlays (s3, yarn, k8s,s3, ...) or a .yaml URI; none: spark-submit's settings
    "lakelora_conf_dir": "s3a://my-bucket/lakelora/conf",  # a copy of the repository's conf/ (with env/)
    "lakelora_job_jar": "s3a://my-bucket/jars/lakelora-jobs-0.1.0-SNAPSHOT-all.jar",
    "lakelora_packages": PACKAGES,  # spark-submit --packages; empty when lakelora_jars brings Delta
    "lakelora_jars": "",  # spark-submit --jars (comma-separated), e.g. Delta's jars where Maven is out of reach
    "lakelora_databricks_job": "lakelora-pipeline",  # name of the job created by databricks.yml
    "lakelora_aws_conn_id": "aws_default",
}
# lakelora_settings_<job> (job = subcommand with "_" for "-"): extra key=value overrides, default none.
SETTINGS_PREFIX = "lakelora_settings_"


def var(name: str, *filters: str) -> str:
    """A Jinja expression for the Airflow Variable name, with this file's default, through Jinja filters."""
    return "{{ var.value.get('%s', '%s')%s }}" % (name, DEFAULTS[name], "".join(" | " + f for f in filters))


def lakelora_safe(value: str) -> str:
    """An Airflow run id (e.g. scheduled__2025-06-01T00:00:00+00:00) as a LakeLoRA run id: [A-Za-z0-9._-] only."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", value)


def yaml_quoted(value: str) -> str:
    """A string as a single-quoted YAML scalar, safe inside a flow mapping (commas, colons, braces)."""
    return "'" + str(value).replace("'", "''") + "'"


# One id per DAG run, stable across task retries and clears (rendered by Jinja with the filter above).
RUN_ID = "airflow-{{ run_id | lakelora_safe }}"


def _hidden(relative: str) -> bool:
    """As job 01 (and Spark) skip them: a path with a component starting with _ or . below the corpus location."""
    return any(part.startswith(("_", ".")) for part in relative.split("/") if part)


def new_corpus_files(corpus_uri: str, aws_conn_id: str, data_interval_start=None, data_interval_end=None,
                     **_context) -> bool:
    """True when a file job 01 would read under corpus_uri was modified in [data_interval_start, data_interval_end)."""
    start, end = data_interval_start, data_interval_end
    if corpus_uri.startswith(("s3://", "s3a://")):
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        bucket, _, key = corpus_uri.split("://", 1)[1].partition("/")
        folder = key.rstrip("/") + "/" if key else ""
        client = S3Hook(aws_conn_id=aws_conn_id).get_conn()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
            for obj in page.get("Contents", []):
                k = obj["Key"]
                if k.endswith("/") or (k != key and not k.startswith(folder)):
                    continue  # folder markers; and corpus/ must not match corpus2/
                if not _hidden(k[len(folder):]) and start <= obj["LastModified"] < end:
                    return True
        return False
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", corpus_uri)
    if scheme and scheme.group(1) != "file":
        raise ValueError("lakelora_corpus_uri %r: the sensor lists s3a://, s3:// and local paths (or file: URIs). "
                         "Fix: use one of those, or replace the sensor for your filesystem" % corpus_uri)
    root = unquote(urlparse(corpus_uri).path) if scheme else corpus_uri
    if os.path.isfile(root):
        files = [root]
    else:
        files = [os.path.join(d, f) for d, _dirs, names in os.walk(root) for f in names
                 if not _hidden(os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/"))]
    for path in files:
        modified = datetime.fromtimestamp(os.path.getmtime(path), tz=start.tzinfo)
        if start <= modified < end:
            return True
    return False


def corpus_sensor() -> PythonSensor:
    return PythonSensor(
        task_id="wait_for_new_corpus",
        python_callable=new_corpus_files,
        op_kwargs={  # templated
            "corpus_uri": var("lakelora_corpus_uri"),
            "aws_conn_id": var("lakelora_aws_conn_id"),
        },
        mode="reschedule",  # frees the worker slot between pokes
        poke_interval=15 * 60,
        timeout=20 * 60 * 60,  # give up (skipped, not failed) before the next interval starts
        soft_fail=True,
    )


DAG_ARGS = dict(
    start_date=datetime(2025, 1, 1),
    schedule="@daily",
    catchup=False,
    max_active_runs=1,  # two trainings never write the same lake at once
    user_defined_filters={"lakelora_safe": lakelora_safe, "yaml_quoted": yaml_quoted},
    default_args={"retries": 1, "retry_delay": timedelta(minutes=10)},
    tags=["lakelora", "qlora", "spark"],
)

ADAPTER_LATEST = "adapter=" + var("lakelora_adapter_name") + "@latest"
# Per job, the overrides that carry the pipeline's locations and names (see the table at the top).
JOB_OVERRIDES = {
    "quantize-base": ["model.id=" + var("lakelora_model_id"), "model.path=" + var("lakelora_model_path")],
    "prepare": ["inputs=[{name: corpus, path: %s, format: %s, shape: %s}]" % (
        var("lakelora_corpus_uri", "yaml_quoted"), var("lakelora_corpus_format"),
        var("lakelora_corpus_shape"))],
    "tokenize-pack": ["model.id=" + var("lakelora_model_id")],
    "train": ["model.id=" + var("lakelora_model_id"), "train.adapter_name=" + var("lakelora_adapter_name")],
    "export": [ADAPTER_LATEST],
    "evaluate": [ADAPTER_LATEST],
}


def job_args(subcommand: str, job_config: str) -> list[str]:
    """Arguments of io.lakelora.jobs.Main for one job: subcommand, config, run id, overrides (before the settings)."""
    return [subcommand, "--config", var("lakelora_conf_dir") + "/" + job_config, "--run-id", RUN_ID,
            "env=" + var("lakelora_env"), "lake.root=" + var("lakelora_lake_root")] + JOB_OVERRIDES[subcommand]


def settings(subcommand: str) -> str:
    """The Jinja expression for a job's lakelora_settings_<job> Variable (default: no extra overrides)."""
    return "{{ var.value.get('%s%s', '') }}" % (SETTINGS_PREFIX, subcommand.replace("-", "_"))


def lakelora_submit_operator():
    """SparkSubmitOperator plus the templated field job_settings: key=value words appended to application_args at run
    time (a templated list element renders to one argument, so a Variable cannot add several without this)."""
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    class LakeLoRASparkSubmitOperator(SparkSubmitOperator):
        template_fields = (*SparkSubmitOperator.template_fields, "job_settings")

        def __init__(self, *, job_settings: str = "", **kwargs):
            super().__init__(**kwargs)
            self.job_settings = job_settings

        def execute(self, context):
            self.application_args = [*(self.application_args or []), *shlex.split(self.job_settings or "")]
            return super().execute(context)

    return LakeLoRASparkSubmitOperator


with DAG(dag_id="lakelora_retrain_spark_submit", doc_md=__doc__, **DAG_ARGS) as spark_submit_dag:
    LakeLoRASparkSubmitOperator = lakelora_submit_operator()
    previous = corpus_sensor()
    jvm_options = " ".join(JVM_FLAGS)
    for task_id, subcommand, job_config in PIPELINE:
        step = LakeLoRASparkSubmitOperator(
            task_id=task_id,
            conn_id="spark_default",  # the master and deploy mode (connection extra deploy-mode)
            application=var("lakelora_job_jar"),
            java_class=MAIN_CLASS,
            packages=var("lakelora_packages"),
            jars=var("lakelora_jars"),
            conf={  # templated
                "spark.driver.extraJavaOptions": jvm_options,
                "spark.executor.extraJavaOptions": jvm_options,
            },
            application_args=job_args(subcommand, job_config),
            job_settings=settings(subcommand),
            name="lakelora-" + subcommand,
        )
        previous >> step
        previous = step

with DAG(dag_id="lakelora_retrain_databricks", doc_md=__doc__, **DAG_ARGS) as databricks_dag:
    from airflow.providers.databricks.operators.databricks import DatabricksRunNowOperator

    corpus_sensor() >> DatabricksRunNowOperator(
        task_id="run_lakelora_pipeline",
        databricks_conn_id="databricks_default",
        job_name=var("lakelora_databricks_job"),
        job_parameters={"run_id": RUN_ID, "lake_root": var("lakelora_lake_root")},
        idempotency_token=RUN_ID + "-try{{ ti.try_number }}",
        wait_for_termination=True,
    )
