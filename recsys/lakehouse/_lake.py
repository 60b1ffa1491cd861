"""Tables addressed by name under a lake root, on whichever engine the session supports."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from recsys.jvm_packages import has_delta_classes
from recsys.lakehouse._base import LakeEngine, LakeError
from recsys.lakehouse._faults import kill_here

_ENGINES = ("auto", "delta-spark", "delta-rs")
SAFE_RETENTION_HOURS = 168
"""Delta's default ``delta.deletedFileRetentionDuration`` (7 days), on both engines."""


def _is_uri(path: str) -> bool:
    return "://" in path


def table_uri(root: str, name: str) -> str:
    """Absolute location of table ``name``: local roots are made absolute so executors on other
    processes (a standalone cluster) see the same path."""
    if not name or "/" in name or name.startswith((".", "_")):
        raise LakeError(f"invalid table name {name!r}: use a plain name such as 'ratings'")
    if _is_uri(root):
        return f"{root.rstrip('/')}/{name}"
    return os.path.join(os.path.abspath(os.path.expanduser(root)), name)


def delta_spark_available(spark: SparkSession) -> bool:
    """True when Delta's JVM classes are on the session's classpath."""
    jvm = getattr(spark, "_jvm", None) or getattr(spark.sparkContext, "_jvm", None)
    if jvm is None:  # Spark Connect: Databricks serverless or a remote cluster
        return "delta" in spark.conf.get("spark.sql.extensions", "").lower() or bool(
            os.environ.get("DATABRICKS_RUNTIME_VERSION")
        )
    return has_delta_classes(jvm)


def check_retention(retention_hours: float, force: bool) -> None:
    """Refuse a vacuum retention that could delete files still needed (see ``Lake.vacuum``)."""
    if retention_hours < 0:
        raise LakeError(f"vacuum: retention must be >= 0 hours, got {retention_hours:g}")
    if retention_hours < SAFE_RETENTION_HOURS and not force:
        raise LakeError(
            f"vacuum: a retention of {retention_hours:g} h is below the {SAFE_RETENTION_HOURS} h "
            "safety limit (a running write or a reader of an older version could lose files); "
            "pass --force if no job is running"
        )


class Lake:
    """Read and write Delta tables by name.

    >>> lake = Lake(spark, "/tmp/lake")            # doctest: +SKIP
    >>> lake.overwrite("ratings", ratings_df)      # doctest: +SKIP
    0
    >>> lake.read("ratings", version=0).count()    # doctest: +SKIP
    """

    def __init__(
        self,
        spark: SparkSession,
        root: str,
        engine: str = "auto",
        storage_options: dict[str, str] | None = None,
        commit_attempts: int = 10,
    ):
        if engine not in _ENGINES:
            raise LakeError(f"unknown lake engine {engine!r}; choose one of {_ENGINES}")
        self.spark = spark
        self.root = root if _is_uri(root) else os.path.abspath(os.path.expanduser(root))
        if engine == "auto":
            engine = "delta-spark" if delta_spark_available(spark) else "delta-rs"
        self.commit_attempts = commit_attempts
        self.engine: LakeEngine = self._make(engine, storage_options)
        if not _is_uri(self.root):
            os.makedirs(self.root, exist_ok=True)

    def _make(self, engine: str, storage_options: dict[str, str] | None) -> LakeEngine:
        if engine == "delta-spark":
            from recsys.lakehouse._delta_spark import DeltaSparkEngine

            return DeltaSparkEngine(self.spark, self.commit_attempts)
        from recsys.lakehouse._delta_rs import DeltaRsEngine

        return DeltaRsEngine(self.spark, storage_options, self.commit_attempts)

    def uri(self, name: str) -> str:
        return table_uri(self.root, name)

    def exists(self, name: str) -> bool:
        return self.engine.exists(self.uri(name))

    def version(self, name: str) -> int | None:
        """Latest committed version, or ``None`` when the table does not exist."""
        return self.engine.version(self.uri(name))

    def _require(self, name: str) -> str:
        uri = self.uri(name)
        if not self.engine.exists(uri):
            raise LakeError(
                f"table {name!r} does not exist under {self.root}; run the job that writes it "
                "first (e.g. `recsys ingest`)"
            )
        return uri

    def read(self, name: str, version: int | None = None) -> DataFrame:
        """The table's rows at its latest version, or at ``version`` (time travel)."""
        uri = self._require(name)
        try:
            return self.engine.read(uri, version)
        except Exception as exc:
            if version is not None:
                raise LakeError(f"table {name!r} has no version {version}: {exc}") from exc
            raise

    def count(self, name: str, version: int | None = None) -> int:
        """Row count of a version, from Delta metadata where the engine can (no data scan)."""
        return self.engine.count(self._require(name), version)

    def schema(self, name: str) -> StructType:
        return self.engine.schema(self._require(name))

    def overwrite(self, name: str, df: DataFrame, **metadata: Any) -> int:
        """Replace the table's content (and schema) in one commit; returns the new version."""
        version = self.engine.overwrite(self.uri(name), df, metadata)
        kill_here("committed", self.uri(name))
        return version

    def append(self, name: str, df: DataFrame, **metadata: Any) -> int:
        version = self.engine.append(self.uri(name), df, metadata)
        kill_here("committed", self.uri(name))
        return version

    def upsert(
        self,
        name: str,
        df: DataFrame,
        keys: Sequence[str],
        newer_col: str | None = None,
        **metadata: Any,
    ) -> int:
        """Insert rows whose ``keys`` are new, replace rows whose keys exist.

        ``df`` must hold each key at most once. With ``newer_col`` a stored row is replaced
        only when the batch row's value there is at least as large (e.g. a later timestamp).
        """
        missing = [k for k in keys if k not in df.columns]
        if missing:
            raise LakeError(f"upsert into {name!r}: key column(s) {missing} not in {df.columns}")
        version = self.engine.upsert(self.uri(name), df, keys, newer_col, metadata)
        kill_here("committed", self.uri(name))
        return version

    def history(self, name: str) -> list[dict[str, Any]]:
        """Commits, newest first, as Delta records them (version, timestamp, operation...)."""
        return self.engine.history(self._require(name))

    def vacuum(self, name: str, retention_hours: float = 168, force: bool = False) -> list[str]:
        """Delete files no version within the retention period needs, including files of
        writes that died before committing; returns their paths.

        A retention below :data:`SAFE_RETENTION_HOURS` (Delta's default on both engines) can
        delete files that a running writer is about to commit or a reader of an older version
        still opens, so it is refused unless ``force``.
        """
        uri = self._require(name)
        check_retention(retention_hours, force)
        unsafe = retention_hours < SAFE_RETENTION_HOURS
        return self.engine.vacuum(uri, retention_hours, force=unsafe)

    def tables(self) -> list[str]:
        """Names of the Delta tables directly under the root (local roots only)."""
        if _is_uri(self.root):
            raise LakeError("listing tables needs a local lake root; address remote tables by name")
        return sorted(
            n
            for n in os.listdir(self.root)
            if os.path.isdir(os.path.join(self.root, n, "_delta_log"))
        )
