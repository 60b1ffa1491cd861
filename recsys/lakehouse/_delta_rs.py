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

import datetime as dt
import json
import math
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
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    MapType,
    NumericType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from recsys.lakehouse._base import LakeError, user_metadata
from recsys.lakehouse._faults import kill_here, killing_writes

_FILE = "_recsys_file"
_CLOBBER = "_recsys_newer"


def _basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def commit_info(
    metadata: dict[str, Any], parameters: dict[str, str] | None = None
) -> dict[str, Any] | None:
    """The commit's ``userMetadata`` as delta-spark writes it (one JSON string, keys sorted), and
    extra ``operationParameters``. delta-rs generates the ``operation`` name itself (an upsert
    is recorded as ``WRITE``), so a merge says what it did in its parameters."""
    info: dict[str, Any] = {}
    if metadata:
        info["userMetadata"] = user_metadata(metadata)
    if parameters:
        info["operationParameters"] = parameters
    return info or None


def _rows(adds: Sequence[AddAction]) -> int:
    return sum(json.loads(a.stats)["numRecords"] for a in adds)


def _merge_metrics(
    written: int, removed_rows: int, output_rows: int, added: int, removed: int
) -> dict[str, int]:
    """Delta's MERGE metrics from what the merge knows without another pass: the batch rows
    written, the rows of the files it replaced and the rows of the files it wrote."""
    copied = output_rows - written
    updated = removed_rows - copied
    return {
        "numSourceRowsWritten": written,
        "numTargetRowsInserted": written - updated,
        "numTargetRowsUpdated": updated,
        "numTargetRowsCopied": copied,
        "numOutputRows": output_rows,
        "numTargetFilesAdded": added,
        "numTargetFilesRemoved": removed,
    }


class _Conflict(Exception):
    """Another writer committed after the snapshot a transaction was planned from."""


def _loose(data_type: DataType) -> DataType:
    """``data_type`` with every nullability relaxed: delta-spark records arrays and maps as
    nullable whatever the rows said, and rows that allow fewer nulls fit a looser column."""
    if isinstance(data_type, StructType):
        return StructType([StructField(f.name, _loose(f.dataType), True) for f in data_type])
    if isinstance(data_type, ArrayType):
        return ArrayType(_loose(data_type.elementType), True)
    if isinstance(data_type, MapType):
        return MapType(_loose(data_type.keyType), _loose(data_type.valueType), True)
    return data_type


def _table_schema(snapshot: DeltaTable) -> StructType:
    return StructType.fromJson(json.loads(snapshot.schema().to_json()))


def _check_schema(uri: str, snapshot: DeltaTable, schema: StructType) -> None:
    have = [(f.name, _loose(f.dataType)) for f in _table_schema(snapshot).fields]
    got = [(f.name, _loose(f.dataType)) for f in schema.fields]
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


SUPPORTED_READER_FEATURES = frozenset({"timestampNtz"})
"""Reader features this engine's reader honours: it reads a version's files with Spark's
Parquet reader, so deletion vectors, column mapping and the like would be silently wrong."""


def check_readable(uri: str, table: DeltaTable) -> None:
    """Refuse a table whose correct reading needs what this engine does not do."""
    protocol = table.protocol()
    features = set(protocol.reader_features or ())
    unsupported = sorted(features - SUPPORTED_READER_FEATURES)
    if protocol.min_reader_version == 2:
        unsupported.append("columnMapping")  # reader version 2 exists only for column mapping
    if table.metadata().partition_columns:
        unsupported.append("partitionColumns")
    if unsupported:
        raise LakeError(
            f"{uri}: the table uses {', '.join(unsupported)}, which the delta-rs engine cannot "
            "read or write correctly; use the delta-spark engine (spark.delta_jars: true, "
            "lake.engine: delta-spark)"
        )


WRITE_CHECKED_CONFIG = ("delta.constraints.", "delta.enableChangeDataFeed")
WRITE_CHECKED_FIELD_METADATA = ("delta.generationExpression", "delta.invariants")


def check_writable(uri: str, table: DeltaTable) -> None:
    """Refuse to write a table whose writes must be checked or accompanied (CHECK constraints,
    generated columns, invariants, change data feed): Spark writes the files here, and nothing
    on this path enforces them."""
    check_readable(uri, table)
    config = table.metadata().configuration or {}
    found = [k for k, v in config.items() if k.startswith(WRITE_CHECKED_CONFIG) and v != "false"]
    schema = json.loads(table.schema().to_json())
    found += [
        f"{f['name']}: {key}"
        for f in schema["fields"]
        for key in WRITE_CHECKED_FIELD_METADATA
        if key in (f.get("metadata") or {})
    ]
    if found:
        raise LakeError(
            f"{uri}: the table has {', '.join(sorted(found))}, which the delta-rs engine does not "
            "enforce when it writes; write it with the delta-spark engine"
        )


def _stat_value(value: Any, kind: str) -> Any:
    """A footer statistic as Delta's JSON stats write it (None: leave the column out)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.datetime):
        # Delta keeps milliseconds: round the minimum down and the maximum up so that
        # skipping a file on these bounds never drops a row.
        value = value.replace(tzinfo=None)
        micros = value.microsecond % 1000
        if kind == "max" and micros:
            value += dt.timedelta(microseconds=1000 - micros)
        else:
            value -= dt.timedelta(microseconds=micros)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    if isinstance(value, str) and len(value) > STRING_STATS_PREFIX:
        return None  # Delta truncates long strings; leaving them out is always correct
    return value


STRING_STATS_PREFIX = 32


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


_EPOCH = dt.datetime(1970, 1, 1)
_STAT_TYPES = (NumericType, StringType, DateType, TimestampType, BooleanType)
"""Column types whose bounds Delta readers use to skip files."""


def footer_stats(metadata: pq.FileMetaData) -> dict[str, Any]:
    """Delta file statistics (``numRecords``, ``minValues``, ``maxValues``, ``nullCount``) of
    a Parquet file's top-level primitive columns, from its footer alone."""
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    schema = metadata.schema
    for i in range(metadata.num_columns):
        path = schema.column(i).path
        if "." in path:  # nested (map, array, struct): no bounds Delta readers use
            continue
        lo = hi = None
        null_count = 0
        complete, bounded = True, True
        for g in range(metadata.num_row_groups):
            group = metadata.row_group(g)
            st = group.column(i).statistics
            if st is None or not st.has_null_count:
                complete = False
                break
            null_count += st.null_count
            if st.has_min_max:
                if _is_nan(st.min) or _is_nan(st.max):
                    bounded = False  # NaN orders nowhere: no bound is safe
                else:
                    lo = st.min if lo is None else min(lo, st.min)
                    hi = st.max if hi is None else max(hi, st.max)
            elif st.null_count < group.num_rows:
                bounded = False  # values without bounds (writers drop long ones)
        if not complete:
            continue
        nulls[path] = null_count
        if not bounded:
            continue
        for target, value, kind in ((mins, lo, "min"), (maxs, hi, "max")):
            converted = _stat_value(value, kind)
            if converted is not None:
                target[path] = converted
    return {
        "numRecords": metadata.num_rows,
        "minValues": mins,
        "maxValues": maxs,
        "nullCount": nulls,
    }


def _data_files(folder: str) -> list[tuple[str, int, int, int, str]]:
    """``(name, size, mtime ms, rows, stats JSON)`` of every non-empty Parquet file Spark wrote
    into a local folder, from the files' footers (no Spark job, no data read). Empty files are
    left out, as the object-store listing (which sees only files with rows) leaves them."""
    entries = [
        e
        for e in os.scandir(folder)
        if e.is_file() and e.name.endswith(".parquet") and not e.name.startswith((".", "_"))
    ]
    out = []
    for e in sorted(entries, key=lambda e: e.name):
        meta = pq.read_metadata(e.path)
        if meta.num_rows:
            st = e.stat()
            stats = json.dumps(footer_stats(meta), default=str)
            out.append((e.name, st.st_size, st.st_mtime_ns // 1_000_000, meta.num_rows, stats))
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
        table = DeltaTable(uri, version=version, storage_options=self.storage_options)
        check_readable(uri, table)
        return table

    def exists(self, uri: str) -> bool:
        return DeltaTable.is_deltatable(uri, storage_options=self.storage_options)

    def version(self, uri: str) -> int | None:
        return self._table(uri).version() if self.exists(uri) else None

    def schema(self, uri: str) -> StructType:
        return _table_schema(self._table(uri))

    def _scan(self, table: DeltaTable, uri: str) -> DataFrame:
        schema = _table_schema(table)
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
            table = self._table(uri)
        except TableNotFoundError:
            return None
        check_writable(uri, table)
        return table

    def _write_files(self, uri: str, df: DataFrame) -> tuple[str, list[AddAction]]:
        """Step 1: Spark writes the rows into a new folder; returns it and the add actions."""
        folder = f"data-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:12]}"
        target = f"{uri.rstrip('/')}/{folder}"
        killing_writes(df, uri).write.mode("errorifexists").parquet(target)
        local = _local_path(target)
        files = _data_files(local) if local is not None else self._listing(df.schema, target)
        return folder, [
            AddAction(
                path=f"{folder}/{name}",
                size=size,
                partition_values={},
                modification_time=mtime,
                data_change=True,
                stats=stats,
            )
            for name, size, mtime, _rows, stats in files
        ]

    def _listing(self, schema: StructType, target: str) -> list[tuple[str, int, int, int, str]]:
        """:func:`_data_files` for an object store: one Spark job groups the files just written
        by Spark's file metadata columns, with each column's bounds and null count."""
        stat_cols = [f for f in schema.fields if isinstance(f.dataType, _STAT_TYPES)]
        aggs = []
        for i, f in enumerate(stat_cols):
            col = F.col(f"`{f.name}`")
            if isinstance(f.dataType, TimestampType):
                col = F.unix_micros(col)
            aggs += [
                F.min(col).alias(f"lo{i}"),
                F.max(col).alias(f"hi{i}"),
                F.count_if(col.isNull()).alias(f"nulls{i}"),
            ]
        rows = (
            self.spark.read.schema(schema)
            .parquet(target)
            .groupBy(
                F.col("_metadata.file_path").alias("path"),
                F.col("_metadata.file_size").alias("size"),
                F.col("_metadata.file_modification_time").alias("mtime"),
            )
            .agg(F.count(F.lit(1)).alias("rows"), *aggs)
            .collect()  # one row per data file: metadata, not data
        )
        out = []
        for r in rows:
            stats: dict[str, Any] = {
                "numRecords": r["rows"],
                "minValues": {},
                "maxValues": {},
                "nullCount": {},
            }
            for i, f in enumerate(stat_cols):
                stats["nullCount"][f.name] = r[f"nulls{i}"]
                for key, kind in ((f"lo{i}", "min"), (f"hi{i}", "max")):
                    value = r[key]
                    if isinstance(f.dataType, TimestampType) and value is not None:
                        value = _EPOCH + dt.timedelta(microseconds=value)
                    value = _stat_value(value, kind)
                    if value is not None:
                        stats[f"{kind}Values"][f.name] = value
            out.append(
                (
                    _basename(r["path"]),
                    int(r["size"]),
                    int(r["mtime"].timestamp() * 1000),
                    r["rows"],
                    json.dumps(stats, default=str),
                )
            )
        return out

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
        parameters: dict[str, str] | None = None,
    ) -> int:
        """Step 2: one Delta transaction over exactly the files step 1 wrote, committed as the
        version right after ``snapshot`` or not at all (:class:`_Conflict`).

        delta-rs would otherwise rebase the commit onto whatever version is newest, checking
        only that the files it removes still exist: a merge planned from an older version would
        then duplicate or lose the keys another writer committed in between.
        """
        kill_here("written", uri)
        if snapshot is not None and mode == "append":  # appends and merges keep the table's
            schema = _table_schema(snapshot)
        delta_schema = Schema.from_json(schema.json())
        props = CommitProperties(
            custom_metadata=commit_info(metadata, parameters), max_commit_retries=0
        )
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
            folder, actions, counts = self._merge_files(uri, snapshot, df, list(keys), newer_col)
            parameters = {
                "recsysOperation": "MERGE",
                "predicate": " AND ".join(f"t.{k} <=> s.{k}" for k in keys),
                "newerColumn": newer_col or "",
                **{k: str(v) for k, v in counts.items()},
            }
            with self._discarded_on_failure(uri, folder):
                return self._commit(
                    uri, snapshot, df.schema, actions, "append", metadata, parameters
                )

        return self._optimistic(uri, attempt)

    def _merge_files(
        self,
        uri: str,
        snapshot: DeltaTable | None,
        df: DataFrame,
        keys: list[str],
        newer_col: str | None,
    ) -> tuple[str, list[AddAction | RemoveAction], dict[str, int]]:
        """Write the merged files of the batch against ``snapshot``; returns the folder, the
        actions (removes for the files rewritten, adds for the new ones) and Delta's merge
        metrics (rows inserted, updated, copied; files added and removed)."""
        if snapshot is None or not snapshot.file_uris():
            folder, adds = self._write_files(uri, df)
            rows = _rows(adds)
            return folder, list(adds), _merge_metrics(rows, 0, rows, len(adds), 0)
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
            written = source.count()  # fills the cache the next two jobs read; a merge metric
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
        removed_rows = 0
        for path in touched:
            add = by_name.get(_basename(path))
            if add is None:
                raise LakeError(f"{uri}: file {path} read for the merge is not in the Delta log")
            removes.append(
                RemoveAction(path=add.path, data_change=True, deletion_timestamp=now, size=add.size)
            )
            removed_rows += json.loads(add.stats).get("numRecords", 0)
        metrics = _merge_metrics(written, removed_rows, _rows(adds), len(adds), len(removes))
        return folder, [*removes, *adds], metrics

    def _add_actions(self, table: DeltaTable) -> list[AddAction]:
        actions = table.get_add_actions(flatten=True)
        paths = actions.column("path").to_pylist()
        sizes = actions.column("size_bytes").to_pylist()
        rows = actions.column("num_records").to_pylist()
        return [
            AddAction(
                path=p,
                size=s,
                partition_values={},
                modification_time=0,
                data_change=False,
                stats=json.dumps({"numRecords": n or 0}),
            )
            for p, s, n in zip(paths, sizes, rows, strict=True)
        ]

    # ---- maintenance -------------------------------------------------------------------------
    def history(self, uri: str) -> list[dict[str, Any]]:
        return list(self._table(uri).history())

    def vacuum(self, uri: str, retention_hours: float, force: bool = False) -> list[str]:
        return self._table(uri).vacuum(
            retention_hours=math.floor(retention_hours),
            dry_run=False,
            enforce_retention_duration=not force,
            full=True,  # also files never committed (writes that died before their commit)
        )
