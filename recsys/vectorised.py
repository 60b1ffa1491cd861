"""Helpers for models computed in numpy inside grouped pandas UDFs, from broadcast arrays
(kNN, EASE, content neighbours): how many groups, CSR slices, id lookups, typed output."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql.types import DoubleType, IntegerType, LongType, StructType

__all__ = ["csr_ranges", "lookup", "top_positions", "typed_columns", "typed_frame", "udf_groups"]


def csr_ranges(indptr: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated CSR slices ``indptr[p]:indptr[p + 1]`` of every ``p`` in ``pos``, and
    their lengths."""
    lens = indptr[pos + 1] - indptr[pos]
    first = np.repeat(indptr[pos] - np.cumsum(lens) + lens, lens)
    return first + np.arange(lens.sum()), lens


def lookup(sorted_ids: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``ids`` in ``sorted_ids`` and which of them are present."""
    if not len(sorted_ids):
        return np.zeros(len(ids), np.int64), np.zeros(len(ids), bool)
    pos = np.searchsorted(sorted_ids, ids).clip(max=len(sorted_ids) - 1)
    return pos, sorted_ids[pos] == ids


def top_positions(values: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest ``values``, largest first, ties to the smaller of ``ids``
    (every per-entity top-k here: neighbours, regressors, recommendations). A partition first
    keeps only the values at least the k-th, every tie with it included, so the cut-off is
    decided by id, never by the partition's order."""
    if k <= 0:
        return np.empty(0, np.int64)
    pos = np.arange(len(values))
    if len(values) > k:
        cut = np.partition(values, len(values) - k)[len(values) - k]
        pos = np.flatnonzero(values >= cut)
    return pos[np.lexsort((ids[pos], -values[pos]))][:k]


_GROUP_SIZE = 2000
"""Users (or movies) per pandas group: bounds a Python worker's memory whatever the size."""


def udf_groups(spark: SparkSession, entities: int) -> int:
    """Groups for a grouped pandas UDF over ``entities`` keys: at least one per shuffle
    partition (every core busy), more when needed to keep groups near ``_GROUP_SIZE``."""
    partitions = int(spark.conf.get("spark.sql.shuffle.partitions") or 1)
    parts = max(spark.sparkContext.defaultParallelism, partitions)
    return max(parts, -(-entities // _GROUP_SIZE))


_DTYPES = {IntegerType(): np.int32, LongType(): np.int64, DoubleType(): np.float64}


def typed_columns(parts: list[tuple[np.ndarray, ...]], schema: StructType) -> dict[str, np.ndarray]:
    """Per-entity tuples of column arrays joined into ``schema``'s columns, typed by it."""
    cols = [np.concatenate(c) for c in zip(*parts, strict=True)] if parts else None
    return {
        f.name: (cols[i] if cols else np.empty(0)).astype(_DTYPES[f.dataType])
        for i, f in enumerate(schema.fields)
    }


def typed_frame(parts: list[tuple[np.ndarray, ...]], schema: StructType) -> pd.DataFrame:
    """A pandas UDF's output from per-entity tuples of column arrays, typed by ``schema``."""
    return pd.DataFrame(typed_columns(parts, schema))
