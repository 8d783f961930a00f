"""LakeLoRA retraining DAGs: retrain an adapter when new corpus data lands.

Two DAGs with the same shape, pick the one matching your platform (enable only one of them):

* ``lakelora_retrain_spark_submit`` -- runs the six pipeline jobs with spark-submit (YARN, Kubernetes or standalone,
  through the Spark connection ``spark_default``), one SparkSubmitOperator per job:
  00 quantize-base -> 01 prepare -> 02 tokenize-pack -> 03 train -> 04 export -> 05 evaluate.
* ``lakelora_retrain_databricks`` -- triggers the Databricks job deployed by databricks.yml (``databricks bundle deploy``),
  which chains the same six jobs, with DatabricksRunNowOperator (connection ``databricks_default``).

Both start with a sensor that waits until the corpus location holds files modified inside the DAG run's data interval
(new data since the previous run); without new data the run ends as skipped at the sensor's timeout.

Idempotent reruns: every job gets ``--run-id`` derived from Airflow's run id (one per DAG run, the same for every task,
retry and manual clear of that run), so a rerun of a DAG run is the same LakeLoRA run to the jobs, which key what they
write by run id, rather than a new one. The Databricks trigger also passes an idempotency token per try, so a retried
trigger call does not start a duplicate job run.

Requirements: apache-airflow >= 2.7 with apache-airflow-providers-apache-spark, -databricks and -amazon (for an s3://
corpus). Settings are Airflow Variables read when a task runs (Jinja, no database access while the file is parsed),
with the defaults in DEFAULTS; the environment overlays are ENV_CONFIGS. No credentials here: S3 through the AWS
connection, Spark and Databricks through their connections.
"""
from __future__ import annotations

import fnmatch
import os
import re
from datetime import datetime, timedelta

from airflow import DAG
from airflow.sensors.python import PythonSensor

# The pipeline: (task id, subcommand of io.lakelora.jobs.Main, job config under conf/).
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

# Open-source Spark 4 lacks Delta Lake: fetched at submission. hadoop-aws and the AWS SDK S3 client are inside the
# shaded job jar (they must match the cluster's Hadoop 3.5); see docs/spark-submit.md.
PACKAGES = "io.delta:delta-spark_2.13:4.4.0"

# Airflow Variables (name -> default), rendered into templated operator fields when a task runs.
DEFAULTS = {
    "lakelora_corpus_uri": "s3://my-bucket/corpus/",  # s3://bucket/prefix/ or a directory on a shared filesystem
    "lakelora_corpus_glob": "*",  # file names that count as corpus data, e.g. *.jsonl
    "lakelora_job_jar": "s3a://my-bucket/jars/lakelora-jobs-0.1.0-SNAPSHOT-all.jar",
    "lakelora_conf_archive": "s3a://my-bucket/jars/conf.zip",  # zip of conf/, unpacked as ./conf on the driver
    "lakelora_lake_root": "s3a://my-bucket/lakelora",
    "lakelora_databricks_job": "lakelora-pipeline",  # name of the job created by databricks.yml
    "lakelora_aws_conn_id": "aws_default",
}

# Environment overlays after each job config (conf/env/*.yaml): Kubernetes with the lake on S3. For YARN use
# ["conf/env/yarn.yaml"]; see the header of each file.
ENV_CONFIGS = ["conf/env/k8s.yaml", "conf/env/s3.yaml"]


def var(name: str) -> str:
    """A Jinja expression for the Airflow Variable name, with this file's default."""
    return "{{ var.value.get('%s', '%s') }}" % (name, DEFAULTS[name])


def lakelora_safe(value: str) -> str:
    """An Airflow run id (e.g. scheduled__2025-06-01T00:00:00+00:00) as a LakeLoRA run id: [A-Za-z0-9._-] only."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", value)


# One id per DAG run, stable across task retries and clears (rendered by Jinja with the filter above).
RUN_ID = "airflow-{{ run_id | lakelora_safe }}"


def new_corpus_files(corpus_uri: str, pattern: str, aws_conn_id: str, data_interval_start=None,
                     data_interval_end=None, **_context) -> bool:
    """True when a file under corpus_uri matching pattern was modified in [data_interval_start, data_interval_end)."""
    start, end = data_interval_start, data_interval_end
    if corpus_uri.startswith(("s3://", "s3a://")):
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        bucket, _, prefix = corpus_uri.split("://", 1)[1].partition("/")
        client = S3Hook(aws_conn_id=aws_conn_id).get_conn()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                name = obj["Key"].rsplit("/", 1)[-1]
                if fnmatch.fnmatch(name, pattern) and start <= obj["LastModified"] < end:
                    return True
        return False
    for root, _dirs, files in os.walk(corpus_uri):
        for name in files:
            if fnmatch.fnmatch(name, pattern):
                modified = datetime.fromtimestamp(os.path.getmtime(os.path.join(root, name)), tz=start.tzinfo)
                if start <= modified < end:
                    return True
    return False


def corpus_sensor() -> PythonSensor:
    return PythonSensor(
        task_id="wait_for_new_corpus",
        python_callable=new_corpus_files,
        op_kwargs={  # templated
            "corpus_uri": var("lakelora_corpus_uri"),
            "pattern": var("lakelora_corpus_glob"),
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
    user_defined_filters={"lakelora_safe": lakelora_safe},
    default_args={"retries": 1, "retry_delay": timedelta(minutes=10)},
    tags=["lakelora", "qlora", "spark"],
)


def job_args(subcommand: str, job_config: str) -> list[str]:
    """Arguments of io.lakelora.jobs.Main for one job: subcommand, config layers, run id, overrides."""
    args = [subcommand, "--config", "conf/" + job_config]
    for env_config in ENV_CONFIGS:
        args += ["--config", env_config]
    return args + ["--run-id", RUN_ID, "lake.root=" + var("lakelora_lake_root")]


with DAG(dag_id="lakelora_retrain_spark_submit", doc_md=__doc__, **DAG_ARGS) as spark_submit_dag:
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    previous = corpus_sensor()
    jvm_options = " ".join(JVM_FLAGS)
    for task_id, subcommand, job_config in PIPELINE:
        step = SparkSubmitOperator(
            task_id=task_id,
            conn_id="spark_default",
            application=var("lakelora_job_jar"),
            java_class=MAIN_CLASS,
            packages=PACKAGES,
            conf={  # templated
                "spark.archives": var("lakelora_conf_archive") + "#conf",
                "spark.driver.extraJavaOptions": jvm_options,
                "spark.executor.extraJavaOptions": jvm_options,
            },
            application_args=job_args(subcommand, job_config),
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
