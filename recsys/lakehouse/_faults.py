"""Crash points for the fault tests (tests/test_crash.py): with ``RECSYS_KILL_AT=<point>:<table>``
in its environment a job kills its whole process group (the Python driver, its JVM and the
Python workers) with SIGKILL at that point of writing that table, as a lost machine would. No
cleanup code runs; the test then checks what the lake looks like.

Points: ``writing`` (from inside a task, while Spark writes the table's data files),
``written`` (delta-rs only: every file written, nothing committed) and ``committed`` (right after
the commit, before the job records anything else). Unset, every hook is a no-op.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

from pyspark.sql import DataFrame

KILL_AT_ENV = "RECSYS_KILL_AT"


def _wanted(point: str, uri: str) -> bool:
    spec = os.environ.get(KILL_AT_ENV)
    if not spec:
        return False
    want, _, table = spec.partition(":")
    return want == point and table in ("", uri.rstrip("/").rsplit("/", 1)[-1])


def kill_here(point: str, uri: str) -> None:
    if _wanted(point, uri):
        os.killpg(os.getpgrp(), signal.SIGKILL)


def killing_writes(df: DataFrame, uri: str) -> DataFrame:
    """``df`` itself, or at point ``writing`` ``df`` through a step that kills the job from the
    task writing partition 0, once it has handed all its rows to the file writer (the file is
    not closed, other tasks may be half-way)."""
    if not _wanted("writing", uri):
        return df
    group = os.getpgrp()  # the driver's group: PySpark's worker daemon runs in a group of its own

    def kill(batches: Iterator) -> Iterator:
        from pyspark import TaskContext

        yield from batches
        if TaskContext.get().partitionId() == 0:
            os.killpg(group, signal.SIGKILL)

    return df.mapInArrow(kill, df.schema)
