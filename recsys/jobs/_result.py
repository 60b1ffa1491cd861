"""What a job returns (typed, so the pipeline and the CLI never parse printed output), and the
``metrics`` rows two jobs append."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame

from recsys import columns as C
from recsys.evaluation import METRICS_SCHEMA
from recsys.lakehouse import Lake


@dataclass
class JobResult:
    job: str
    run_id: str
    """The job's row in ``runs``."""
    outputs: dict[str, int] = field(default_factory=dict)
    """table -> Delta version this run wrote."""
    rows: dict[str, int] = field(default_factory=dict)
    """table -> rows written (where the job counted them)."""
    summary: str = ""
    """The lines the CLI prints for this run."""
    details: Any = None
    """Job-specific results (an ingest's reject counts, evaluate's metrics...)."""
    notes: list[str] = field(default_factory=list)
    """Warnings worth a line of their own (a missing optional input...)."""


def write_metrics(lake: Lake, df: DataFrame, **commit_info: str) -> int:
    """Append ``metrics`` rows (:func:`recsys.evaluation.metrics_rows`); the new version."""
    return lake.append(C.T_METRICS, df.select(*METRICS_SCHEMA.fieldNames()), **commit_info)
