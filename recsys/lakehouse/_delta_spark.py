"""Lake engine on delta-spark (``format("delta")`` and ``DeltaTable.merge``), for sessions that
have Delta's JVM classes: a cluster started with ``--packages io.delta:delta-spark_2.13:...``
and the Delta SQL extension, or Databricks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType


class DeltaSparkEngine:
    name = "delta-spark"

    def __init__(self, spark: SparkSession):
        from delta.tables import DeltaTable  # only importable usefully with the JVM jars

        self.spark = spark
        self._DeltaTable = DeltaTable

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

    def _writer(self, df: DataFrame, mode: str, metadata: dict[str, Any]):
        writer = df.write.format("delta").mode(mode)
        if metadata:
            import json

            writer = writer.option("userMetadata", json.dumps(metadata, sort_keys=True))
        return writer

    def overwrite(self, uri: str, df: DataFrame, metadata: dict[str, Any]) -> int:
        self._writer(df, "overwrite", metadata).option("overwriteSchema", "true").save(uri)
        return self.version(uri) or 0

    def append(self, uri: str, df: DataFrame, metadata: dict[str, Any]) -> int:
        self._writer(df, "append", metadata).save(uri)
        return self.version(uri) or 0

    def upsert(
        self,
        uri: str,
        df: DataFrame,
        keys: Sequence[str],
        newer_col: str | None,
        metadata: dict[str, Any],
    ) -> int:
        if not self.exists(uri):
            return self.overwrite(uri, df, metadata)
        on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
        newer = None
        if newer_col:
            t, s = f"t.`{newer_col}`", f"s.`{newer_col}`"
            newer = f"{t} IS NULL OR {s} IS NULL OR {s} >= {t}"
        (
            self._DeltaTable.forPath(self.spark, uri)
            .alias("t")
            .merge(df.alias("s"), on)
            .whenMatchedUpdateAll(condition=newer)
            .whenNotMatchedInsertAll()
            .execute()
        )
        return self.version(uri) or 0

    def history(self, uri: str) -> list[dict[str, Any]]:
        rows = self._DeltaTable.forPath(self.spark, uri).history().collect()  # one row per commit
        return [r.asDict(recursive=True) for r in rows]

    def vacuum(self, uri: str, retention_hours: int) -> list[str]:
        self._DeltaTable.forPath(self.spark, uri).vacuum(float(retention_hours))
        return []
