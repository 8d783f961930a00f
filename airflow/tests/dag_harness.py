"""Loads airflow/dags/lakelora_retrain.py without Airflow installed and prints what it defines, as JSON; given a render
spec, it also renders every templated field of every task as Airflow does when the task runs.

Used by the JUnit tests AirflowDagTest and AirflowRetrainIT (jobs module). Stand-in modules for the few Airflow names
the DAG file imports record every DAG, task, keyword argument and dependency; each stand-in accepts only the keyword
arguments that the real class documents (Airflow 2.x core, apache-spark provider >= 4.8, databricks provider) and has
the real class's template_fields, so a misspelled argument or an untemplated field fails here as it would in Airflow.
The sensor's callable is also run against a temporary directory whose files have known modification times.

Rendering follows Airflow (TaskInstance.render_templates with DAG.get_template_env): real Jinja2, a
SandboxedEnvironment with StrictUndefined, the jinja2.ext.do extension, Airflow's filters ds, ds_nodash, ts,
ts_nodash, ts_nodash_with_tz and the DAG's user_defined_filters and user_defined_macros; strings are templates, lists
and tuples are rendered element by element, dicts value by value (not their keys), other values are kept. The context
has Airflow's names: run_id, ds, ds_nodash, ts, logical_date, data_interval_start, data_interval_end, params, var
(var.value.NAME, var.value.get(NAME, default), var.json), dag_run, ti, task_instance, dag and task. Each task is then
run as Airflow runs it: a SparkSubmitOperator's execute (the DAG's own subclass first, if it has one) reaches the
stand-in's execute, which builds the spark-submit argument list exactly as the provider's
SparkSubmitHook._build_spark_submit_command does (--master from the connection, --conf per entry, then --files ...
--jars, --packages ... --name, --class, --deploy-mode, the application, the application arguments); a PythonSensor
pokes once with its rendered op_kwargs merged into the context (unless its callable needs a provider that is not here,
e.g. S3).

Usage: python3 airflow/tests/dag_harness.py DAG_FILE WORK_DIR [RENDER_SPEC.json]
RENDER_SPEC: {"variables": {NAME: "value"}, "connections": {"spark_default": {"master": "spark://h:7077",
  "deploy_mode": "client"}}, "run_id": "scheduled__2025-06-01T00:00:00+00:00", "data_interval_start": ISO-8601,
  "data_interval_end": ISO-8601, "params": {...}, "try_number": 1}
"""
import copy
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
# The template_fields of the real classes (PythonSensor: Airflow 2.x; SparkSubmitOperator: apache-spark provider 4.8+,
# the ones of its arguments above; DatabricksRunNowOperator: the named arguments are merged into json).
TEMPLATE_FIELDS = {
    "PythonSensor": ("templates_dict", "op_args", "op_kwargs"),
    "SparkSubmitOperator": ("application", "conf", "files", "py_files", "jars", "driver_class_path", "packages",
                            "exclude_packages", "keytab", "principal", "proxy_user", "name", "application_args",
                            "env_vars", "properties_file"),
    "DatabricksRunNowOperator": ("json", "databricks_conn_id"),
}
DAG_ARGS = {"dag_id", "description", "schedule", "start_date", "end_date", "catchup", "max_active_runs",
            "max_active_tasks", "default_args", "user_defined_filters", "user_defined_macros", "tags", "doc_md",
            "params", "dagrun_timeout", "is_paused_upon_creation"}

DAGS = []
CURRENT = []
VARIABLES = {}  # the render spec's Airflow Variables
CONNECTIONS = {}  # the render spec's connections: conn_id -> {"master", "deploy_mode", "queue"}


class DAG:
    def __init__(self, **kwargs):
        unknown = set(kwargs) - DAG_ARGS
        if unknown:
            raise TypeError("DAG got unexpected keyword arguments %s" % sorted(unknown))
        self.kwargs = kwargs
        self.dag_id = kwargs["dag_id"]
        self.tasks = []
        DAGS.append(self)

    def __enter__(self):
        CURRENT.append(self)
        return self

    def __exit__(self, *exc):
        CURRENT.pop()
        return False


class Operator:
    """A stand-in: checks the keyword arguments, keeps them, and sets the template fields as attributes."""
    stub = None  # the real class's name, set on each stand-in class

    def __init__(self, **kwargs):
        kind = self.stub
        unknown = set(kwargs) - ALLOWED[kind]
        if unknown:
            raise TypeError("%s got unexpected keyword arguments %s" % (kind, sorted(unknown)))
        if not CURRENT:
            raise RuntimeError("%s %s created outside a DAG" % (kind, kwargs.get("task_id")))
        self.kind = kind
        self.kwargs = kwargs
        self.task_id = kwargs["task_id"]
        self.upstream = []
        for field in TEMPLATE_FIELDS[kind]:
            setattr(self, field, kwargs.get(field))
        CURRENT[-1].tasks.append(self)

    def __rshift__(self, other):
        other.upstream.append(self.task_id)
        return other


class PythonSensor(Operator):
    stub = "PythonSensor"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.python_callable = kwargs["python_callable"]
        self.op_args = kwargs.get("op_args") or []
        self.op_kwargs = kwargs.get("op_kwargs") or {}

    def poke(self, context):
        return self.python_callable(*self.op_args, **{**context, **self.op_kwargs})


class SparkSubmitOperator(Operator):
    stub = "SparkSubmitOperator"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.name = kwargs.get("name", "arrow-spark")
        self.spark_submit = None
        self.spark_submit_env = None

    def execute(self, context):
        """What SparkSubmitHook.submit runs: _build_spark_submit_command with this task's (rendered) fields."""
        kw = self.kwargs
        conn = CONNECTIONS.get(kw.get("conn_id", "spark_default"))
        if conn is None:  # the hook falls back to yarn; a test that renders the command must name the connection
            raise KeyError("no connection %r in the render spec" % kw.get("conn_id", "spark_default"))
        master = conn["master"]
        deploy_mode = kw.get("deploy_mode") or conn.get("deploy_mode")
        queue = kw.get("yarn_queue") or conn.get("queue")
        args = ["--master", master]
        for key in self.conf or {}:
            args += ["--conf", "%s=%s" % (key, self.conf[key])]
        env = None
        if self.env_vars and ("k8s" in master or "yarn" in master):
            tmpl = "spark.yarn.appMasterEnv.%s=%s" if "yarn" in master else "spark.kubernetes.driverEnv.%s=%s"
            for key in self.env_vars:
                args += ["--conf", tmpl % (key, self.env_vars[key])]
        elif self.env_vars and deploy_mode != "cluster":
            env = dict(self.env_vars)  # set on the spark-submit process
        elif self.env_vars:
            raise ValueError("SparkSubmitHook env_vars is not supported in standalone-cluster mode.")
        for flag, value in [("--properties-file", self.properties_file), ("--files", self.files),
                            ("--py-files", self.py_files), ("--archives", kw.get("archives")),
                            ("--driver-class-path", self.driver_class_path), ("--jars", self.jars),
                            ("--packages", self.packages), ("--exclude-packages", self.exclude_packages),
                            ("--repositories", kw.get("repositories")), ("--num-executors", kw.get("num_executors")),
                            ("--total-executor-cores", kw.get("total_executor_cores")),
                            ("--executor-cores", kw.get("executor_cores")),
                            ("--executor-memory", kw.get("executor_memory")),
                            ("--driver-memory", kw.get("driver_memory")), ("--keytab", self.keytab),
                            ("--principal", self.principal), ("--proxy-user", self.proxy_user),
                            ("--name", self.name), ("--class", kw.get("java_class"))]:
            if value:
                args += [flag, str(value)]
        if kw.get("verbose"):
            args += ["--verbose"]
        if queue:
            args += ["--queue", queue]
        if deploy_mode:
            args += ["--deploy-mode", deploy_mode]
        self.spark_submit = [kw.get("spark_binary") or "spark-submit"] + args + [self.application] + list(
            self.application_args or [])
        self.spark_submit_env = env


class DatabricksRunNowOperator(Operator):
    stub = "DatabricksRunNowOperator"
    NAMED = ["job_id", "job_name", "notebook_params", "python_params", "python_named_params", "jar_params",
             "spark_submit_params", "idempotency_token", "job_parameters"]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.json = dict(kwargs.get("json") or {})
        for key in self.NAMED:  # as the real constructor merges the named arguments into json
            if kwargs.get(key) is not None:
                self.json[key] = kwargs[key]
        self.databricks_conn_id = kwargs.get("databricks_conn_id", "databricks_default")


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
    stub_module("airflow.sensors.python", PythonSensor=PythonSensor)
    stub_module("airflow.providers.apache.spark.operators.spark_submit", SparkSubmitOperator=SparkSubmitOperator)
    stub_module("airflow.providers.databricks.operators.databricks", DatabricksRunNowOperator=DatabricksRunNowOperator)


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
    """The sensor callable on a local directory: files modified inside / outside the interval, hidden files."""
    start = datetime(2025, 6, 1, tzinfo=timezone.utc)
    end = start + timedelta(days=1)

    def touch(path, seconds_after_start):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").close()
        os.utime(path, (start.timestamp() + seconds_after_start,) * 2)
        return path

    def poke(uri, a=start, b=end):
        return module.new_corpus_files(uri, "unused", a, b)

    corpus = tempfile.mkdtemp(prefix="corpus-", dir=work_dir)
    touch(os.path.join(corpus, "old.jsonl"), -3600)
    results = {"only_old_file": poke(corpus)}
    touch(os.path.join(corpus, "day", "_SUCCESS"), 3600)
    touch(os.path.join(corpus, "day", ".part-0001.jsonl.crc"), 3600)
    touch(os.path.join(corpus, "_tmp", "part-0001.jsonl"), 3600)
    results["new_hidden_files"] = poke(corpus)
    new = touch(os.path.join(corpus, "day", "part-0001.jsonl"), 7200)
    results["new_file_in_subdir"] = poke(corpus)
    results["new_file_as_file_uri"] = poke("file://" + corpus)
    results["the_new_file_itself"] = poke(new)
    results["interval_before_every_file"] = poke(corpus, start - timedelta(days=2), start - timedelta(days=1))
    try:
        poke("abfss://container@account.dfs.core.windows.net/corpus")
        results["unsupported_scheme"] = "no error"
    except ValueError as e:
        results["unsupported_scheme"] = str(e)
    return results


class VariableAccessor:
    """Airflow's var.value / var.json: var.value.NAME, var.value.get(NAME, default_var)."""
    NOTSET = object()

    def __init__(self, deserialize_json):
        self._json = deserialize_json

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        return self.get(key)

    def get(self, item, default_var=NOTSET):
        if item in VARIABLES:
            return json.loads(VARIABLES[item]) if self._json else VARIABLES[item]
        if default_var is self.NOTSET:
            raise KeyError("Variable %s does not exist" % item)
        return default_var


def template_env(dag):
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=StrictUndefined, extensions=["jinja2.ext.do"], cache_size=0)
    env.filters.update({  # airflow.templates.FILTERS
        "ds": lambda d: d.strftime("%Y-%m-%d"), "ds_nodash": lambda d: d.strftime("%Y%m%d"),
        "ts": lambda d: d.isoformat(), "ts_nodash": lambda d: d.strftime("%Y%m%dT%H%M%S"),
        "ts_nodash_with_tz": lambda d: d.isoformat().replace("-", "").replace(":", "")})
    env.globals.update(dag.kwargs.get("user_defined_macros") or {})
    env.filters.update(dag.kwargs.get("user_defined_filters") or {})
    return env


def render(value, context, env):
    """BaseOperator.render_template: strings are templates; containers are rendered element by element."""
    if isinstance(value, str):
        return env.from_string(value).render(**context)
    if isinstance(value, tuple):
        return tuple(render(v, context, env) for v in value)
    if isinstance(value, list):
        return [render(v, context, env) for v in value]
    if isinstance(value, dict):
        return {k: render(v, context, env) for k, v in value.items()}
    return value


def context_for(dag, task, spec):
    start = datetime.fromisoformat(spec["data_interval_start"])
    end = datetime.fromisoformat(spec["data_interval_end"])
    params = dict(dag.kwargs.get("params") or {})
    params.update(spec.get("params") or {})
    dag_run = types.SimpleNamespace(run_id=spec["run_id"], dag_id=dag.dag_id, conf=spec.get("params") or {},
                                    logical_date=start, data_interval_start=start, data_interval_end=end,
                                    run_type=spec["run_id"].split("__", 1)[0])
    ti = types.SimpleNamespace(task_id=task.task_id, dag_id=dag.dag_id, run_id=spec["run_id"], map_index=-1,
                               try_number=spec.get("try_number", 1))
    return {"dag": dag, "task": task, "run_id": spec["run_id"], "logical_date": start, "ds": start.strftime("%Y-%m-%d"),
            "ds_nodash": start.strftime("%Y%m%d"), "ts": start.isoformat(), "data_interval_start": start,
            "data_interval_end": end, "params": params, "dag_run": dag_run, "ti": ti, "task_instance": ti,
            "var": {"value": VariableAccessor(False), "json": VariableAccessor(True)}}


def render_task(dag, task, spec):
    """TaskInstance.render_templates on a copy of the task, then the task's run (execute or one poke)."""
    env = template_env(dag)
    rendered = copy.copy(task)
    context = context_for(dag, rendered, spec)
    fields = {}
    for field in type(task).template_fields:
        setattr(rendered, field, render(getattr(task, field), context, env))
        fields[field] = getattr(rendered, field)
    out = {"task_id": task.task_id, "kind": task.kind, "class": type(task).__name__,
           "template_fields": list(fields), "fields": plain(fields)}
    if task.kind == "SparkSubmitOperator":
        rendered.execute(context)
        out["spark_submit"] = rendered.spark_submit
        out["spark_submit_env"] = rendered.spark_submit_env
    if task.kind == "PythonSensor":
        try:
            out["poke"] = rendered.poke(context)
        except ModuleNotFoundError as e:  # a provider's hook (S3) that the stand-ins do not have
            if not (e.name or "").startswith("airflow"):
                raise
            out["poke"] = None
    return out


for _stub in (PythonSensor, SparkSubmitOperator, DatabricksRunNowOperator):
    _stub.template_fields = TEMPLATE_FIELDS[_stub.stub]


def main():
    dag_file, work_dir = sys.argv[1], sys.argv[2]
    spec = None
    if len(sys.argv) > 3:
        with open(sys.argv[3]) as f:
            spec = json.load(f)
        VARIABLES.update(spec.get("variables") or {})
        CONNECTIONS.update(spec.get("connections") or {})
    install_stubs()
    module = types.SimpleNamespace(**runpy.run_path(dag_file, run_name="lakelora_retrain"))
    out = {
        "dags": [{"dag_id": d.dag_id, "schedule": d.kwargs.get("schedule"),
                  "catchup": d.kwargs.get("catchup"), "max_active_runs": d.kwargs.get("max_active_runs"),
                  "filters": sorted(d.kwargs.get("user_defined_filters", {})),
                  "tasks": [{"task_id": t.task_id, "kind": t.kind, "class": type(t).__name__,
                             "upstream": t.upstream, "kwargs": plain(t.kwargs),
                             "template_fields": list(type(t).template_fields)} for t in d.tasks]} for d in DAGS],
        "JVM_FLAGS": module.JVM_FLAGS,
        "PACKAGES": module.PACKAGES,
        "DEFAULTS": module.DEFAULTS,
        "RUN_ID": module.RUN_ID,
        "safe_run_ids": {r: module.lakelora_safe(r) for r in ["scheduled__2025-06-01T00:00:00+00:00",
                                                               "manual__2025-06-01T12:34:56.789012+00:00"]},
        "sensor": sensor_cases(module, work_dir),
    }
    if spec is not None:
        out["rendered"] = [{"dag_id": d.dag_id, "tasks": [render_task(d, t, spec) for t in d.tasks]} for d in DAGS]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
