"""The Delta lake layer: every job reads and writes tables by name through :class:`Lake`.

Two engines sit behind one interface, chosen automatically:

* ``delta-spark`` when the session has Delta's JVM classes: a local session with
  ``spark.delta_jars`` (the default; :mod:`recsys.jvm_packages` fetches them), a cluster
  submitted with ``--jars``/``--packages`` holding ``io.delta:delta-spark_4.2_2.13``, Databricks.
* ``delta-rs`` otherwise: Spark's distributed Parquet writer writes the data files into the
  table directory, then the driver commits exactly those files as one Delta transaction with
  the ``deltalake`` package. Only file metadata passes through the driver.

Either way the result is a real Delta table that any Delta reader sees identically.
"""

from recsys.lakehouse._arrow import ArrowLake
from recsys.lakehouse._base import LakeEngine, LakeError
from recsys.lakehouse._lake import (
    SAFE_RETENTION_HOURS,
    Lake,
    check_retention,
    delta_spark_available,
    table_uri,
)

__all__ = [
    "SAFE_RETENTION_HOURS",
    "ArrowLake",
    "Lake",
    "LakeEngine",
    "LakeError",
    "check_retention",
    "delta_spark_available",
    "table_uri",
]
