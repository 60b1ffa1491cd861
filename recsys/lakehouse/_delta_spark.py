"""Lake engine on Delta Lake's own Spark integration (``DeltaTable.merge``, ``format("delta")``),
for sessions that have Delta's JVM classes: a local session with ``spark.delta_jars`` (the
default), a cluster submitted with ``--jars``/``--packages`` holding Delta, or Databricks."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from recsys.lakehouse._base import LakeError, user_metadata
from recsys.lakehouse._faults import killing_writes

_USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"
_RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
_LOCKS: dict[int, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _session_lock(spark: SparkSession) -> threading.Lock:
    """One lock per Spark session, held by each write: a merge (which has no per-call
    ``userMetadata`` option) and a forced vacuum set session settings for the length of one
    call, and no other write of that session may pick them up. Writers in other sessions
    (other jobs, ``newSession()``) run at once and meet in Delta's conflict detection."""
    session = getattr(spark, "_jsparkSession", spark)  # the JVM session; Spark Connect: itself
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(id(session), threading.Lock())


class DeltaSparkEngine:
    name = "delta-spark"

    def __init__(self, spark: SparkSession, commit_attempts: int = 10):
        import delta.exceptions as errors
        from delta.tables import DeltaTable  # only importable usefully with the JVM jars

        self.spark = spark
        self.commit_attempts = commit_attempts
        self._DeltaTable = DeltaTable
        # Delta's Python conflict classes share no base class but Exception
        self._conflict: tuple[type[Exception], ...] = (
            *(getattr(errors, name) for name in errors.__all__ if "Concurrent" in name),
            errors.MetadataChangedException,
            errors.ProtocolChangedException,
        )

    def exists(self, uri: str) -> bool:
        return bool(self._DeltaTable.isDeltaTable(self.spark, uri))

    def version(self, uri: str) -> int | None:
        if not self.exists(uri):
            return None
        row = self._DeltaTable.forPath(self.spark, uri).history(1).select("version").first()
        return int(row["version"]) if row else None

    def read(self, uri: str, version: int | None) -> DataFrame:
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(uri)

    def count(self, uri: str, version: int | None) -> int:
        return self.read(uri, version).count()  # Delta answers from its log's statistics

    def schema(self, uri: str) -> StructType:
        return self.read(uri, None).schema

    # ---- writing -----------------------------------------------------------------------------
    def _retrying(self, uri: str, write: Callable[[], None], metadata: dict[str, Any]) -> int:
        """Run ``write`` until Delta's optimistic commit succeeds (each attempt re-reads the
        table); the committed version, found by this write's ``userMetadata``."""
        before = self.version(uri)
        for _ in range(self.commit_attempts):
            try:
                with _session_lock(self.spark):
                    write()
            except self._conflict:
                continue
            except AnalysisException as exc:
                if "schema" in str(exc).lower():
                    first = str(exc).splitlines()[0]
                    raise LakeError(
                        f"{uri}: the rows' schema differs from the table's ({first}); overwrite "
                        "the table to change its schema"
                    ) from None
                raise
            return self._committed_version(uri, metadata, before)
        raise LakeError(
            f"{uri}: another writer committed first {self.commit_attempts} times in a row, so "
            "nothing of this write was committed; run the job again when the others finish"
        )

    def _committed_version(self, uri: str, metadata: dict[str, Any], before: int | None) -> int:
        """The version this write committed: after ``before`` and carrying its
        ``userMetadata`` (other writers may have committed since). A merge that changes
        nothing commits nothing in Delta: then the version it read."""
        wanted = user_metadata(metadata)
        newer = -1 if before is None else before
        history = self._DeltaTable.forPath(self.spark, uri).history(self.commit_attempts + 20)
        rows = history.where(f"version > {newer}").select("version", "userMetadata").collect()
        mine = [int(r["version"]) for r in rows if wanted is None or r["userMetadata"] == wanted]
        if not mine and before is not None:
            return before
        if len(mine) != 1:
            raise LakeError(
                f"{uri}: the write committed, but {len(mine)} new versions carry its metadata "
                f"{wanted}; give each concurrent writer its own run_id"
            )
        return mine[0]

    def _writer(self, df: DataFrame, mode: str, metadata: dict[str, Any], uri: str):
        writer = killing_writes(df, uri).write.format("delta").mode(mode)
        if metadata:
            writer = writer.option("userMetadata", user_metadata(metadata))
        return writer

    def overwrite(self, uri: str, df: DataFrame, metadata: dict[str, Any]) -> int:
        writer = self._writer(df, "overwrite", metadata, uri).option("overwriteSchema", "true")
        return self._retrying(uri, lambda: writer.save(uri), metadata)

    def append(self, uri: str, df: DataFrame, metadata: dict[str, Any]) -> int:
        writer = self._writer(df, "append", metadata, uri)
        return self._retrying(uri, lambda: writer.save(uri), metadata)

    def upsert(
        self,
        uri: str,
        df: DataFrame,
        keys: Sequence[str],
        newer_col: str | None,
        metadata: dict[str, Any],
    ) -> int:
        if not self.exists(uri):
            try:
                writer = self._writer(df, "errorifexists", metadata, uri)
                return self._retrying(uri, lambda: writer.save(uri), metadata)
            except AnalysisException:
                if not self.exists(uri):  # not a lost race to create the table: a real error
                    raise
        on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
        newer = None
        if newer_col:
            t, s = f"t.`{newer_col}`", f"s.`{newer_col}`"
            newer = f"{t} IS NULL OR {s} IS NULL OR {s} >= {t}"

        def merge() -> None:  # under the session's lock (_retrying)
            conf = self.spark.conf
            if metadata:
                conf.set(_USER_METADATA, user_metadata(metadata))
            try:
                (
                    self._DeltaTable.forPath(self.spark, uri)
                    .alias("t")
                    .merge(killing_writes(df, uri).alias("s"), on)
                    .whenMatchedUpdateAll(condition=newer)
                    .whenNotMatchedInsertAll()
                    .execute()
                )
            finally:
                conf.unset(_USER_METADATA)

        return self._retrying(uri, merge, metadata)

    # ---- maintenance -------------------------------------------------------------------------
    def history(self, uri: str) -> list[dict[str, Any]]:
        rows = self._DeltaTable.forPath(self.spark, uri).history().collect()  # one row per commit
        return [r.asDict(recursive=True) for r in rows]

    def vacuum(self, uri: str, retention_hours: float, force: bool = False) -> list[str]:
        """Delete what no version within the retention needs (orphans of dead writes too);
        returns the paths deleted. ``force`` lifts Delta's 7-day minimum for this call."""
        sql = f"VACUUM delta.`{uri}` RETAIN {retention_hours} HOURS"
        with _session_lock(self.spark):
            conf = self.spark.conf
            if force:
                conf.set(_RETENTION_CHECK, "false")
            try:
                doomed = [r[0] for r in self.spark.sql(sql + " DRY RUN").collect()]
                if doomed:
                    self.spark.sql(sql).collect()
            except Exception as exc:
                if "retention" in str(exc).lower():
                    raise LakeError(f"{uri}: {exc}".splitlines()[0]) from None
                raise
            finally:
                if force:
                    conf.unset(_RETENTION_CHECK)
        return doomed
