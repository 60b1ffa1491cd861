"""The one place a SparkSession is built, from :class:`recsys.config.SparkSettings`."""

from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

from recsys.config import SparkSettings

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


def spark_conf(settings: SparkSettings) -> dict[str, str]:
    """The full ``spark.*`` mapping a profile asks for (profile ``conf`` wins over defaults)."""
    conf = dict(BASE_CONF)
    conf["spark.sql.shuffle.partitions"] = str(settings.shuffle_partitions)
    if settings.driver_memory:
        conf["spark.driver.memory"] = settings.driver_memory
    if settings.executor_memory:
        conf["spark.executor.memory"] = settings.executor_memory
    if (settings.master or "").startswith("local") and not os.environ.get("PYSPARK_PYTHON"):
        # Local Python workers (pandas UDFs) must be this interpreter (the venv with pandas and
        # pyarrow), not whatever `python3` is first on the PATH. The conf covers the JVM side;
        # PySpark's SparkContext reads only the environment variable (see build_spark).
        conf["spark.pyspark.python"] = sys.executable
    conf.update(settings.conf)
    return conf


def build_spark(settings: SparkSettings) -> SparkSession:
    """Get or create the session. ``master`` is applied only when the profile sets one."""
    builder = SparkSession.builder.appName(settings.app_name)
    conf = spark_conf(settings)
    if "spark.pyspark.python" in conf and not os.environ.get("PYSPARK_PYTHON"):
        os.environ["PYSPARK_PYTHON"] = conf["spark.pyspark.python"]
    if settings.master:
        builder = builder.master(settings.master)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
