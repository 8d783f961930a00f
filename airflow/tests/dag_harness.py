"""Loads airflow/dags/lakelora_retrain.py without Airflow installed and prints what it defines, as JSON.

Used by the JUnit test DeploymentFilesTest (jobs module). Stand-in modules for the few Airflow names the DAG file
imports record every DAG, task, keyword argument and dependency; each stand-in accepts only the keyword arguments
that the real class documents (Airflow 2.x core and the apache-spark, databricks providers), so a misspelled argument
fails here as it would in Airflow. The sensor's callable is also run against a temporary directory whose files have
known modification times.

Usage: python3 airflow/tests/dag_harness.py DAG_FILE WORK_DIR
"""
import json
import os
import runpy
import sys
import tempfile
import types
from datetime import datetime, timedelta, timezone

BASE_OPERATOR_ARGS = {"task_id", "owner", "retries", "retry_delay", "retry_exponential_backoff", "max_retry_delay",
                      "execution_timeout", "trigger_rule", "pool", "queue", "priority_weight", "doc_md",
                      "depends_on_past", "wait_for_downstream", "email_on_failure", "email_on_retry", "sla"}
SENSOR_ARGS = {"poke_interval", "timeout", "soft_fail", "mode", "exponential_backoff", "max_wait", "silent_fail"}
ALLOWED = {
    "PythonSensor": BASE_OPERATOR_ARGS | SENSOR_ARGS | {"python_callable", "op_args", "op_kwargs", "templates_dict"},
    "SparkSubmitOperator": BASE_OPERATOR_ARGS | {
        "application", "conf", "conn_id", "files", "py_files", "archives", "driver_class_path", "jars", "java_class",
        "packages", "exclude_packages", "repositories", "total_executor_cores", "executor_cores", "executor_memory",
        "driver_memory", "keytab", "principal", "proxy_user", "name", "num_executors", "status_poll_interval",
        "application_args", "env_vars", "verbose", "spark_binary", "properties_file", "yarn_queue", "deploy_mode"},
    "DatabricksRunNowOperator": BASE_OPERATOR_ARGS | {
        "job_id", "job_name", "json", "notebook_params", "python_params", "jar_params", "spark_submit_params",
        "python_named_params", "job_parameters", "idempotency_token", "databricks_conn_id", "polling_period_seconds",
        "databricks_retry_limit", "databricks_retry_delay", "databricks_retry_args", "do_xcom_push",
        "wait_for_termination", "deferrable", "repair_run", "cancel_previous_runs"},
}
DAG_ARGS = {"dag_id", "description", "schedule", "start_date", "end_date", "catchup", "max_active_runs",
            "max_active_tasks", "default_args", "user_defined_filters", "user_defined_macros", "tags", "doc_md",
            "params", "dagrun_timeout", "is_paused_upon_creation"}

DAGS = []
CURRENT = []


class DAG:
    def __init__(self, **kwargs):
        unknown = set(kwargs) - DAG_ARGS
        if unknown:
            raise TypeError("DAG got unexpected keyword arguments %s" % sorted(unknown))
        self.kwargs = kwargs
        self.tasks = []
        DAGS.append(self)

    def __enter__(self):
        CURRENT.append(self)
        return self

    def __exit__(self, *exc):
        CURRENT.pop()
        return False


class Operator:
    def __init__(self, **kwargs):
        kind = type(self).__name__
        unknown = set(kwargs) - ALLOWED[kind]
        if unknown:
            raise TypeError("%s got unexpected keyword arguments %s" % (kind, sorted(unknown)))
        if not CURRENT:
            raise RuntimeError("%s %s created outside a DAG" % (kind, kwargs.get("task_id")))
        self.kind = kind
        self.kwargs = kwargs
        self.upstream = []
        CURRENT[-1].tasks.append(self)

    def __rshift__(self, other):
        other.upstream.append(self.kwargs["task_id"])
        return other


def stub_module(name, **attrs):
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return module


def install_stubs():
    for name in ["airflow", "airflow.sensors", "airflow.providers", "airflow.providers.apache",
                 "airflow.providers.apache.spark", "airflow.providers.apache.spark.operators",
                 "airflow.providers.databricks", "airflow.providers.databricks.operators"]:
        stub_module(name)
    sys.modules["airflow"].DAG = DAG
    stub_module("airflow.sensors.python", PythonSensor=type("PythonSensor", (Operator,), {}))
    stub_module("airflow.providers.apache.spark.operators.spark_submit",
                SparkSubmitOperator=type("SparkSubmitOperator", (Operator,), {}))
    stub_module("airflow.providers.databricks.operators.databricks",
                DatabricksRunNowOperator=type("DatabricksRunNowOperator", (Operator,), {}))


def plain(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if callable(value):
        return "callable:" + value.__name__
    return str(value)


def sensor_cases(module, work_dir):
    """The sensor callable on a local directory: a file modified inside / outside the interval, a non-matching name."""
    start = datetime(2025, 6, 1, tzinfo=timezone.utc)
    end = start + timedelta(days=1)
    corpus = tempfile.mkdtemp(prefix="corpus-", dir=work_dir)
    os.makedirs(os.path.join(corpus, "day"))
    old = os.path.join(corpus, "old.jsonl")
    open(old, "w").close()
    os.utime(old, (start.timestamp() - 3600,) * 2)
    results = {"only_old_file": module.new_corpus_files(corpus, "*.jsonl", "unused", start, end)}
    other = os.path.join(corpus, "day", "notes.txt")
    open(other, "w").close()
    os.utime(other, (start.timestamp() + 3600,) * 2)
    results["new_file_not_matching_glob"] = module.new_corpus_files(corpus, "*.jsonl", "unused", start, end)
    new = os.path.join(corpus, "day", "part-0001.jsonl")
    open(new, "w").close()
    os.utime(new, (start.timestamp() + 7200,) * 2)
    results["new_matching_file_in_subdir"] = module.new_corpus_files(corpus, "*.jsonl", "unused", start, end)
    results["interval_before_every_file"] = module.new_corpus_files(corpus, "*.jsonl", "unused",
                                                                     start - timedelta(days=2), start - timedelta(days=1))
    return results


def main():
    dag_file, work_dir = sys.argv[1], sys.argv[2]
    install_stubs()
    module = types.SimpleNamespace(**runpy.run_path(dag_file, run_name="lakelora_retrain"))
    out = {
        "dags": [{"dag_id": d.kwargs["dag_id"], "schedule": d.kwargs.get("schedule"),
                  "catchup": d.kwargs.get("catchup"), "max_active_runs": d.kwargs.get("max_active_runs"),
                  "filters": sorted(d.kwargs.get("user_defined_filters", {})),
                  "tasks": [{"task_id": t.kwargs["task_id"], "kind": t.kind, "upstream": t.upstream,
                             "kwargs": plain(t.kwargs)} for t in d.tasks]} for d in DAGS],
        "JVM_FLAGS": module.JVM_FLAGS,
        "PACKAGES": module.PACKAGES,
        "RUN_ID": module.RUN_ID,
        "safe_run_ids": {r: module.lakelora_safe(r) for r in ["scheduled__2025-06-01T00:00:00+00:00",
                                                               "manual__2025-06-01T12:34:56.789012+00:00"]},
        "sensor": sensor_cases(module, work_dir),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
