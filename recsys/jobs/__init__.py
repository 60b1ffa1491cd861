"""The jobs: the only layer that reads and writes the lake and records runs.

Each module holds one job: a typed config (``XxxConfig``, a frozen dataclass whose defaults are
the job's) and ``run(ctx, config) -> JobResult``. ``ctx`` is a :class:`JobContext` (settings,
Spark session, lake, a progress log). Models, blend and evaluation below this layer are
DataFrame -> DataFrame code; the pipeline above sequences jobs and passes their typed results;
the CLI above it turns flags into configs and prints.
"""

from __future__ import annotations

from recsys.jobs._context import JobContext
from recsys.jobs._result import JobResult, write_metrics

__all__ = ["JobContext", "JobResult", "write_metrics"]
