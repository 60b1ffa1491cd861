"""Blend weights by history bucket: data, loadable from YAML/JSON, never read at import time.

A user with little history leans on content and popularity; a user with a rich history on the
collaborative sources (ALS, item-kNN, user-kNN). Buckets are closed on the right: a user with
``h`` ratings falls in the first bucket whose ``max_history >= h`` (``None`` = no limit).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import DoubleType, IntegerType, StringType, StructField, StructType

from recsys import columns as C
from recsys.errors import RecsysError

SOURCES = ("als", "ease", "itemknn", "userknn", "content", "popularity")
"""Candidate sources, in the order their columns appear."""

SCORE_COLUMNS = {
    "als": C.ALS_SCORE,
    "ease": C.EASE_SCORE,
    "itemknn": C.ITEMKNN_SCORE,
    "userknn": C.USERKNN_SCORE,
    "content": C.CONTENT_SCORE,
    "popularity": C.POPULARITY_SCORE,
}


class WeightsError(RecsysError):
    """A weights file names an unknown source or has malformed buckets."""


@dataclass(frozen=True)
class Bucket:
    label: str
    """Shown in tables, e.g. ``6-20``."""
    max_history: int | None
    """Largest history size in this bucket; ``None`` for the open last bucket."""
    weights: Mapping[str, float] = field(default_factory=dict)
    """Source -> weight; sources not named weigh 0."""

    def weight(self, source: str) -> float:
        return float(self.weights.get(source, 0.0))


@dataclass(frozen=True)
class BlendWeights:
    buckets: tuple[Bucket, ...]

    def __post_init__(self) -> None:
        if not self.buckets or self.buckets[-1].max_history is not None:
            raise WeightsError("the last weight bucket must be open (max_history: null)")
        bounds = [b.max_history for b in self.buckets[:-1]]
        if any(b is None for b in bounds) or bounds != sorted(set(bounds)):
            raise WeightsError(
                "weight buckets' max_history must increase, with null on the last one only"
            )
        for b in self.buckets:
            unknown = set(b.weights) - set(SOURCES)
            if unknown:
                raise WeightsError(f"bucket {b.label}: unknown source(s) {sorted(unknown)}")

    def with_bucket(self, label: str, weights: Mapping[str, float]) -> BlendWeights:
        """A copy with one bucket's weights replaced (used by tuning)."""
        return BlendWeights(
            tuple(Bucket(b.label, b.max_history, weights) if b.label == label else b
                  for b in self.buckets)
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "buckets": [
                {"label": b.label, "max_history": b.max_history, "weights": dict(b.weights)}
                for b in self.buckets
            ]
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> BlendWeights:
        try:
            items: Sequence[Mapping[str, Any]] = raw["buckets"]
            buckets = tuple(
                Bucket(
                    str(b["label"]),
                    None if b.get("max_history") is None else int(b["max_history"]),
                    {str(k): float(v) for k, v in (b.get("weights") or {}).items()},
                )
                for b in items
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(
                f"malformed blend weights ({exc}); `recsys config` shows the defaults' shape "
                "(key recommend.weights)"
            ) from exc
        return cls(buckets)

    def updated(self, values: str | Mapping[str, Any], where: str = "weights") -> BlendWeights:
        """Weights from a profile or ``--set``: a ``buckets`` mapping, or a YAML/JSON file's
        path. Buckets are replaced as a whole (a partial list would silently drop buckets)."""
        return BlendWeights.load(values) if isinstance(values, str) else self.from_dict(values)

    @classmethod
    def load(cls, path: str | Path) -> BlendWeights:
        p = Path(path).expanduser()
        if not p.is_file():
            raise WeightsError(f"weights file {p} does not exist")
        text = p.read_text()
        raw = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
        return cls.from_dict(raw or {})

    def frame(self, spark: SparkSession) -> DataFrame:
        """One row per bucket: label, min/max history and one weight column per source."""
        schema = StructType(
            [
                StructField(C.HISTORY_BUCKET, StringType(), False),
                StructField("_min_h", IntegerType(), False),
                StructField("_max_h", IntegerType(), True),
                *[StructField(f"_w_{s}", DoubleType(), False) for s in SOURCES],
            ]
        )
        rows, lo = [], 0
        for b in self.buckets:
            rows.append((b.label, lo, b.max_history, *[b.weight(s) for s in SOURCES]))
            lo = (b.max_history or 0) + 1
        return spark.createDataFrame(rows, schema)


# Chosen on a validation split carved from ml-100k's training part (benchmarks/blend.py prints
# the weight-vs-nDCG table). The two small buckets have no users in MovieLens' evaluation
# (everyone has >= 20 ratings there), so they are priors: content + popularity first.
DEFAULT_WEIGHTS = BlendWeights(
    (
        Bucket("0", 0, {"popularity": 1.0}),
        Bucket("1-5", 5, {"content": 0.5, "popularity": 0.3, "itemknn": 0.2}),
        Bucket("6-20", 20, {"als": 1.0, "ease": 1.0, "itemknn": 0.1, "userknn": 0.5,
                            "popularity": 0.1}),
        Bucket(">20", None, {"als": 1.0, "ease": 0.5, "userknn": 0.25, "content": 0.1}),
    )
)  # fmt: skip
