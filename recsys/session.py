"""The one place a SparkSession is built, from :class:`recsys.config.SparkSettings`."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib import resources

from pyspark.sql import SparkSession

from recsys.config import SparkSettings
from recsys.jvm_packages import (
    DELTA_SQL_CONF,
    Artifact,
    delta_artifacts,
    fetch,
    has_delta_classes,
)

# Settings every profile gets: reproducible timestamps, Arrow transfers, AQE, and Parquet that
# other Delta readers (delta-rs, DuckDB, Polars) understand.
BASE_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "true",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.compression.codec": "snappy",
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
}


# The thread count of each BLAS library Spark's netlib loader may find (OpenBLAS, MKL, BLIS).
BLAS_THREAD_VARS: tuple[str, ...] = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")
VERBOSE_LEVELS = frozenset({"ALL", "TRACE", "DEBUG", "INFO"})
LOCAL_JIT_OPTIONS: tuple[str, ...] = (
    "-XX:Tier4InvocationThreshold=40000",
    "-XX:Tier4MinInvocationThreshold=20000",
    "-XX:Tier4CompileThreshold=50000",
    "-XX:Tier4BackEdgeThreshold=320000",
)
"""Later optimising (C2) compilation in a local session, where every task runs in the driver
JVM. A run of many short Spark jobs keeps the C2 compiler busy with planner code and generated
classes that each run only briefly: on the 2-core machine it took 106-116 of the quick start's
~270 JVM CPU seconds. With 8x the default tier-4 thresholds such code stays at the cheap C1
tier and what is really hot is still optimised (benchmarks/RESULTS.md has the side-by-side)."""
LOG4J2_CONF = str(resources.files("recsys.resources").joinpath("log4j2.properties"))
"""Spark's logging without its start-up notices (a file inside the installed package)."""


def spark_conf(settings: SparkSettings, jars: Sequence[str] = ()) -> dict[str, str]:
    """The full ``spark.*`` mapping a profile asks for (profile ``conf`` wins over defaults);
    ``jars``: the fetched jars (Delta's, with the SQL settings Delta needs next to them, unless
    ``delta_jars`` is off, and ``packages``)."""
    conf = dict(BASE_CONF)
    conf["spark.sql.shuffle.partitions"] = str(settings.shuffle_partitions)
    local = (settings.master or "").startswith("local")
    if jars:
        conf["spark.jars"] = ",".join(map(str, jars))
    if jars and settings.delta_jars:
        conf.update(DELTA_SQL_CONF)
        if local:
            # Delta's defaults (50 partitions to rebuild a table's state, 10,000 to list files
            # for a vacuum) are sized for clusters; a local run spends seconds on empty tasks.
            conf["spark.databricks.delta.snapshotPartitions"] = str(settings.shuffle_partitions)
            conf["spark.sql.sources.parallelPartitionDiscovery.parallelism"] = str(
                settings.shuffle_partitions
            )
    if settings.driver_memory:
        conf["spark.driver.memory"] = settings.driver_memory
    if settings.executor_memory:
        conf["spark.executor.memory"] = settings.executor_memory
    if settings.blas_threads is not None:
        for var in BLAS_THREAD_VARS:
            conf[f"spark.executorEnv.{var}"] = str(settings.blas_threads)
    # read only when this process starts the driver JVM (local runs, pytest, notebooks)
    java_options = []
    if settings.log_level.upper() not in VERBOSE_LEVELS:
        java_options.append(f"-Dlog4j2.configurationFile={LOG4J2_CONF}")
    if local:
        java_options += LOCAL_JIT_OPTIONS
    if java_options:
        conf["spark.driver.extraJavaOptions"] = " ".join(java_options)
    if local and not os.environ.get("PYSPARK_PYTHON"):
        # Local Python workers (pandas UDFs) must be this interpreter (the venv with pandas and
        # pyarrow), not whatever `python3` is first on the PATH. The conf covers the JVM side;
        # PySpark's SparkContext reads only the environment variable (see build_spark).
        conf["spark.pyspark.python"] = sys.executable
    extra = dict(settings.conf)
    if jars and extra.get("spark.jars"):
        extra["spark.jars"] = f"{conf['spark.jars']},{extra['spark.jars']}"
    conf.update(extra)
    return conf


def _launched_by_spark_submit() -> bool:
    """spark-submit (or a notebook's kernel) started the JVM, with its own classpath."""
    from pyspark import SparkContext

    active = SparkContext._active_spark_context is not None
    return bool(os.environ.get("PYSPARK_GATEWAY_PORT")) or active


def _jars(settings: SparkSettings) -> list[str]:
    """Delta's jars and ``spark.packages`` when this process starts the JVM (fetched once,
    then cached); under spark-submit its ``--jars`` / ``--packages`` decide."""
    if _launched_by_spark_submit():
        return []
    artifacts = list(delta_artifacts()) if settings.delta_jars else []
    artifacts += [Artifact.parse(c) for c in settings.packages]
    return [str(p) for p in fetch(tuple(artifacts))] if artifacts else []


def _submitted_with_delta() -> bool:
    """Under spark-submit with ``--jars``/``--packages`` holding Delta, its SQL settings must
    still be given before the session is built."""
    if not os.environ.get("PYSPARK_GATEWAY_PORT"):
        return False
    from pyspark import SparkContext

    SparkContext._ensure_initialized()  # connects to spark-submit's JVM; starts nothing
    return has_delta_classes(SparkContext._jvm)


def build_spark(settings: SparkSettings) -> SparkSession:
    """Get or create the session. ``master`` is applied only when the profile sets one."""
    builder = SparkSession.builder.appName(settings.app_name)
    conf = spark_conf(settings, _jars(settings))
    if _submitted_with_delta():
        conf = {**DELTA_SQL_CONF, **conf}
    if "spark.pyspark.python" in conf and not os.environ.get("PYSPARK_PYTHON"):
        os.environ["PYSPARK_PYTHON"] = conf["spark.pyspark.python"]
    if settings.master:
        builder = builder.master(settings.master)
    for key, value in conf.items():
        builder = builder.config(key, value)
    if settings.blas_threads is not None:
        # A JVM this process starts (local mode) inherits the environment; executors on a
        # cluster get spark.executorEnv.* above.
        for var in BLAS_THREAD_VARS:
            os.environ.setdefault(var, str(settings.blas_threads))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.log_level.upper())
    return spark


def blas_description(spark: SparkSession) -> str:
    """Which BLAS Spark's ML code runs on, for a job's one-line report: a native library
    (with its thread setting) or netlib's Java implementation."""
    jvm = spark.sparkContext._jvm
    try:
        impl = jvm.dev.ludovic.netlib.blas.BLAS.getInstance().getClass().getSimpleName()
    except Exception:  # an unexpected netlib build: say so rather than fail the job
        return "BLAS: unknown (netlib not found)"
    if impl.startswith("JNI"):
        threads = jvm.java.lang.System.getenv("OPENBLAS_NUM_THREADS") or "default"
        return f"BLAS: native ({impl}, libblas.so.3; OPENBLAS_NUM_THREADS={threads})"
    return f"BLAS: Java ({impl}); install libopenblas0-pthread for a native one"
