"""Spark writes Parquet, delta-rs commits: a real Delta table without Delta's JVM jars.

Every write goes through two steps:

1. Spark's distributed Parquet writer writes the rows into a fresh folder inside the table
   directory (``data-<timestamp>-<id>/part-*.parquet``). Nothing references these files yet,
   so a reader of the table cannot see them.
2. The driver lists the files just written (path, size, row count: metadata only, gathered by a
   Spark job over the Parquet footers) and commits them with ``deltalake`` as one transaction:
   add actions, plus remove actions for the files an overwrite or upsert replaces.

A job killed between the steps leaves the previous version intact; ``vacuum`` deletes the
orphaned folder once it is older than the retention period.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import pyarrow.parquet as pq
from deltalake import DeltaTable, Schema
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from deltalake.transaction import (
    AddAction,
    CommitProperties,
    RemoveAction,
    create_table_with_add_actions,
)
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from recsys.lakehouse._base import LakeError

_FILE = "_recsys_file"
_CLOBBER = "_recsys_newer"


def _basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


class _Conflict(Exception):
    """Another writer committed after the snapshot a transaction was planned from."""


def _check_schema(uri: str, snapshot: DeltaTable, schema: StructType) -> None:
    table = StructType.fromJson(json.loads(snapshot.schema().to_json()))
    have = [(f.name, f.dataType) for f in table.fields]
    got = [(f.name, f.dataType) for f in schema.fields]
    if have != got:
        raise LakeError(
            f"{uri}: the rows' schema {got} differs from the table's {have}; "
            "overwrite the table to change its schema"
        )


def _local_path(uri: str) -> str | None:
    """The filesystem path of a local table URI (no scheme or ``file:``), else ``None``."""
    if uri.startswith("file:"):
        return "/" + uri[len("file:") :].lstrip("/")
    return None if "://" in uri else uri


def _data_files(folder: str) -> list[tuple[str, int, int, int]]:
    """``(name, size, mtime ms, rows)`` of every non-empty Parquet file Spark wrote into a
    local folder, rows read from the files' footers (no Spark job, no data read). Empty files
    are left out, as the object-store listing (which sees only files with rows) leaves them."""
    entries = [
        e
        for e in os.scandir(folder)
        if e.is_file() and e.name.endswith(".parquet") and not e.name.startswith((".", "_"))
    ]
    out = []
    for e in sorted(entries, key=lambda e: e.name):
        rows = pq.read_metadata(e.path).num_rows
        if rows:
            st = e.stat()
            out.append((e.name, st.st_size, st.st_mtime_ns // 1_000_000, rows))
    return out


def _to_spark_uri(file_uri: str, table_uri: str) -> str:
    """delta-rs reports s3 files as ``s3://``; Hadoop clusters usually configure ``s3a://``."""
    if table_uri.startswith("s3a://") and file_uri.startswith("s3://"):
        return "s3a://" + file_uri[len("s3://") :]
    return file_uri


class DeltaRsEngine:
    """Lake engine that needs only pyspark and the ``deltalake`` wheel."""

    name = "delta-rs"

    def __init__(
        self,
        spark: SparkSession,
        storage_options: dict[str, str] | None = None,
        commit_attempts: int = 10,
    ):
        self.spark = spark
        self.storage_options = storage_options
        self.commit_attempts = commit_attempts

    # ---- reading -----------------------------------------------------------------------------
    def _table(self, uri: str, version: int | None = None) -> DeltaTable:
        return DeltaTable(uri, version=version, storage_options=self.storage_options)

    def exists(self, uri: str) -> bool:
        return DeltaTable.is_deltatable(uri, storage_options=self.storage_options)

    def version(self, uri: str) -> int | None:
        return self._table(uri).version() if self.exists(uri) else None

    def schema(self, uri: str) -> StructType:
        return StructType.fromJson(json.loads(self._table(uri).schema().to_json()))

    def _scan(self, table: DeltaTable, uri: str) -> DataFrame:
        schema = StructType.fromJson(json.loads(table.schema().to_json()))
        files = [_to_spark_uri(f, uri) for f in table.file_uris()]
        if not files:
            return self.spark.createDataFrame([], schema)
        return self.spark.read.schema(schema).parquet(*files)

    def read(self, uri: str, version: int | None) -> DataFrame:
        return self._scan(self._table(uri, version), uri)

    def count(self, uri: str, version: int | None) -> int:
        """Rows from the log's per-file ``numRecords`` (no data read); Spark counts otherwise."""
        table = self._table(uri, version)
        counts = table.get_add_actions(flatten=True).column("num_records").to_pylist()
        if all(c is not None for c in counts):
            return int(sum(counts))
        return self._scan(table, uri).count()

    # ---- writing -----------------------------------------------------------------------------
    def _snapshot(self, uri: str) -> DeltaTable | None:
        """The latest version, which the next commit must follow directly (``None``: no table)."""
        try:
            return self._table(uri)
        except TableNotFoundError:
            return None

    def _write_files(self, uri: str, df: DataFrame) -> tuple[str, list[AddAction]]:
        """Step 1: Spark writes the rows into a new folder; returns it and the add actions."""
        folder = f"data-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:12]}"
        target = f"{uri.rstrip('/')}/{folder}"
        df.write.mode("errorifexists").parquet(target)
        local = _local_path(target)
        files = _data_files(local) if local is not None else self._listing(df.schema, target)
        return folder, [
            AddAction(
                path=f"{folder}/{name}",
                size=size,
                partition_values={},
                modification_time=mtime,
                data_change=True,
                stats=json.dumps({"numRecords": rows}),
            )
            for name, size, mtime, rows in files
        ]

    def _listing(self, schema: StructType, target: str) -> list[tuple[str, int, int, int]]:
        """:func:`_data_files` for an object store, through Spark's file metadata columns."""
        rows = (
            self.spark.read.schema(schema)
            .parquet(target)
            .select(
                F.col("_metadata.file_path").alias("path"),
                F.col("_metadata.file_size").alias("size"),
                F.col("_metadata.file_modification_time").alias("mtime"),
            )
            .groupBy("path", "size", "mtime")
            .count()
            .collect()  # one row per data file: metadata, not data
        )
        return [
            (_basename(r["path"]), int(r["size"]), int(r["mtime"].timestamp() * 1000), r["count"])
            for r in rows
        ]

    @contextmanager
    def _discarded_on_failure(self, uri: str, folder: str) -> Iterator[None]:
        """Delete a write's folder when its commit does not happen (no version references it;
        ``vacuum`` would find it too, but only after the retention period)."""
        try:
            yield
        except BaseException:
            with suppress(Exception):  # best effort: the original error is the one to report
                self._discard(uri, folder)
            raise

    def _discard(self, uri: str, folder: str) -> None:
        path = self.spark._jvm.org.apache.hadoop.fs.Path(f"{uri.rstrip('/')}/{folder}")
        path.getFileSystem(self.spark._jsc.hadoopConfiguration()).delete(path, True)

    def _commit(
        self,
        uri: str,
        snapshot: DeltaTable | None,
        schema: StructType,
        actions: list[AddAction | RemoveAction],
        mode: str,
        metadata: dict[str, Any],
    ) -> int:
        """Step 2: one Delta transaction over exactly the files step 1 wrote, committed as the
        version right after ``snapshot`` or not at all (:class:`_Conflict`).

        delta-rs would otherwise rebase the commit onto whatever version is newest, checking
        only that the files it removes still exist: a merge planned from an older version would
        then duplicate or lose the keys another writer committed in between.
        """
        delta_schema = Schema.from_json(schema.json())
        props = CommitProperties(custom_metadata=metadata or None, max_commit_retries=0)
        if snapshot is None:
            try:
                create_table_with_add_actions(
                    uri,
                    delta_schema,
                    [a for a in actions if isinstance(a, AddAction)],
                    mode="error",
                    storage_options=self.storage_options,
                    commit_properties=props,
                )
            except DeltaError as exc:
                if self.exists(uri):  # another writer created the table first
                    raise _Conflict from exc
                raise
            return 0
        read_version = snapshot.version()
        try:
            snapshot.create_write_transaction(
                actions, mode=mode, schema=delta_schema, commit_properties=props
            )
        except CommitFailedError as exc:
            if (self.version(uri) or 0) > read_version:
                raise _Conflict from exc
            raise
        return read_version + 1

    def _optimistic(self, uri: str, attempt: Callable[[DeltaTable | None], int]) -> int:
        """Run ``attempt`` on the latest snapshot until it commits; each lost race re-reads."""
        for _ in range(self.commit_attempts):
            try:
                return attempt(self._snapshot(uri))
            except _Conflict:
                continue
        raise LakeError(
            f"{uri}: another writer committed first {self.commit_attempts} times in a row, so "
            "nothing of this write was committed; run the job again when the others finish"
        )

    def overwrite(self, uri: str, df: DataFrame, metadata: dict[str, Any]) -> int:
        folder, adds = self._write_files(uri, df)
        with self._discarded_on_failure(uri, folder):
            return self._optimistic(
                uri,
                lambda snapshot: self._commit(
                    uri, snapshot, df.schema, list(adds), "overwrite", metadata
                ),
            )

    def append(self, uri: str, df: DataFrame, metadata: dict[str, Any]) -> int:
        snapshot = self._snapshot(uri)
        if snapshot is not None:
            _check_schema(uri, snapshot, df.schema)  # before writing anything

        def attempt(snapshot: DeltaTable | None) -> int:
            if snapshot is not None:
                _check_schema(uri, snapshot, df.schema)
            return self._commit(uri, snapshot, df.schema, list(adds), "append", metadata)

        folder, adds = self._write_files(uri, df)
        with self._discarded_on_failure(uri, folder):
            return self._optimistic(uri, attempt)

    def upsert(
        self,
        uri: str,
        df: DataFrame,
        keys: Sequence[str],
        newer_col: str | None,
        metadata: dict[str, Any],
    ) -> int:
        """Copy-on-write merge: rewrite only the files holding keys that the batch touches.

        Planned from one snapshot and committed right after it; when another writer commits
        first, the merge is planned again from the new version (``commit_attempts`` in all).
        """

        def attempt(snapshot: DeltaTable | None) -> int:
            if snapshot is not None:
                _check_schema(uri, snapshot, df.schema)
            folder, actions = self._merge_files(uri, snapshot, df, list(keys), newer_col)
            with self._discarded_on_failure(uri, folder):
                return self._commit(uri, snapshot, df.schema, actions, "append", metadata)

        return self._optimistic(uri, attempt)

    def _merge_files(
        self,
        uri: str,
        snapshot: DeltaTable | None,
        df: DataFrame,
        keys: list[str],
        newer_col: str | None,
    ) -> tuple[str, list[AddAction | RemoveAction]]:
        """Write the merged files of the batch against ``snapshot``; returns the folder and the
        actions (removes for the files rewritten, adds for the new ones)."""
        if snapshot is None or not snapshot.file_uris():
            folder, adds = self._write_files(uri, df)
            return folder, list(adds)
        located = self._scan(snapshot, uri).withColumn(_FILE, F.col("_metadata.file_path"))
        source = df
        if newer_col:
            # A batch row replaces the stored one only when it is at least as new.
            current = located.select(*keys, F.col(newer_col).alias(_CLOBBER))
            source = (
                df.join(current, keys, "left")
                .where(
                    F.col(_CLOBBER).isNull()
                    | F.col(newer_col).isNull()
                    | (F.col(newer_col) >= F.col(_CLOBBER))
                )
                .drop(_CLOBBER)
            )
        source = source.persist()
        try:
            touched = [
                row[_FILE]
                for row in located.join(source.select(*keys), keys, "left_semi")
                .select(_FILE)
                .distinct()
                .collect()  # file paths only: bounded by the table's file count
            ]
            rewritten = source
            if touched:
                kept = (
                    self.spark.read.schema(located.drop(_FILE).schema)
                    .parquet(*touched)
                    .join(source.select(*keys), keys, "left_anti")
                )
                rewritten = kept.unionByName(source)
            folder, adds = self._write_files(uri, rewritten)
        finally:
            source.unpersist()

        by_name = {_basename(a.path): a for a in self._add_actions(snapshot)}
        now = int(time.time() * 1000)
        removes: list[AddAction | RemoveAction] = []
        for path in touched:
            add = by_name.get(_basename(path))
            if add is None:
                raise LakeError(f"{uri}: file {path} read for the merge is not in the Delta log")
            removes.append(
                RemoveAction(path=add.path, data_change=True, deletion_timestamp=now, size=add.size)
            )
        return folder, [*removes, *adds]

    def _add_actions(self, table: DeltaTable) -> list[AddAction]:
        actions = table.get_add_actions(flatten=True)
        paths = actions.column("path").to_pylist()
        sizes = actions.column("size_bytes").to_pylist()
        return [
            AddAction(
                path=p,
                size=s,
                partition_values={},
                modification_time=0,
                data_change=False,
                stats="{}",
            )
            for p, s in zip(paths, sizes, strict=True)
        ]

    # ---- maintenance -------------------------------------------------------------------------
    def history(self, uri: str) -> list[dict[str, Any]]:
        return list(self._table(uri).history())

    def vacuum(self, uri: str, retention_hours: int) -> list[str]:
        return self._table(uri).vacuum(
            retention_hours=retention_hours,
            dry_run=False,
            enforce_retention_duration=False,
            full=True,  # also files never committed (writes that died before their commit)
        )
