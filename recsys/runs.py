"""The ``runs`` table: one row per job run (parameters, input versions, row counts, status,
timings), so every output table can be traced to the run and the inputs that made it.

    with RunRecorder(lake, "train_als", params={"rank": 64}) as run:
        ratings = run.read("ratings")            # records the version it read
        ...
        run.wrote("als_candidates", lake.overwrite("als_candidates", df, **run.commit_info), rows=n)

A failing run is recorded with status ``failed`` and the exception re-raised.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from types import TracebackType
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql.types import (
    DoubleType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from recsys import columns as C
from recsys.lakehouse import Lake

T_RUNS = "runs"

RUNS = StructType(
    [
        StructField(C.RUN_ID, StringType(), False),
        StructField("job", StringType(), False),
        StructField("params", StringType(), True),
        StructField("input_versions", MapType(StringType(), LongType()), True),
        StructField("output_versions", MapType(StringType(), LongType()), True),
        StructField("row_counts", MapType(StringType(), LongType()), True),
        StructField("status", StringType(), False),
        StructField("error", StringType(), True),
        StructField("started_at", TimestampType(), False),
        StructField("finished_at", TimestampType(), True),
        StructField("duration_s", DoubleType(), True),
        StructField("timings", MapType(StringType(), DoubleType()), True),
    ]
)


def new_run_id(job: str) -> str:
    """Sortable and unique: ``<job>-<UTC timestamp>-<random>``."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{job}-{stamp}-{uuid.uuid4().hex[:6]}"


class RunRecorder:
    """Context manager that appends one row to ``runs`` when the job ends (ok or failed)."""

    def __init__(
        self, lake: Lake, job: str, params: dict[str, Any] | None = None, run_id: str | None = None
    ):
        self.lake = lake
        self.job = job
        self.params = dict(params or {})
        self.run_id = run_id or new_run_id(job)
        self.input_versions: dict[str, int] = {}
        self.output_versions: dict[str, int] = {}
        self.row_counts: dict[str, int] = {}
        self.timings: dict[str, float] = {}
        self._t0 = 0.0
        self._started = dt.datetime.now(dt.UTC)

    @property
    def commit_info(self) -> dict[str, str]:
        """What every commit of this run carries as its Delta ``userMetadata`` (both engines
        write it as the same JSON object), so a table version leads back to its run."""
        return {C.RUN_ID: self.run_id, "job": self.job}

    def read(self, name: str) -> DataFrame:
        """Read a table at its current version, remembering which version this run used."""
        version = self.lake.version(name)
        df = self.lake.read(name, version=version)
        if version is not None:
            self.input_versions[name] = version
        return df

    def wrote(self, name: str, version: int, rows: int | None = None) -> None:
        self.output_versions[name] = version
        if rows is not None:
            self.row_counts[name] = rows

    def timed(self, step: str) -> _Timer:
        """``with run.timed("fit"): ...`` records the step's wall seconds."""
        return _Timer(self.timings, step)

    def __enter__(self) -> RunRecorder:
        self._t0 = time.perf_counter()
        self._started = dt.datetime.now(dt.UTC)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        finished = dt.datetime.now(dt.UTC)
        row = (
            self.run_id,
            self.job,
            json.dumps(self.params, sort_keys=True, default=str),
            self.input_versions,
            self.output_versions,
            self.row_counts,
            "failed" if exc_type else "succeeded",
            f"{exc_type.__name__}: {exc}" if exc_type else None,
            self._started.replace(tzinfo=None),
            finished.replace(tzinfo=None),
            time.perf_counter() - self._t0,
            self.timings,
        )
        df = self.lake.spark.createDataFrame([row], RUNS)
        self.lake.append(T_RUNS, df, **self.commit_info)


class _Timer:
    def __init__(self, sink: dict[str, float], step: str):
        self.sink, self.step = sink, step

    def __enter__(self) -> None:
        self._t0 = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.sink[self.step] = self.sink.get(self.step, 0.0) + time.perf_counter() - self._t0
