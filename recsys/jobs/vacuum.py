"""The vacuum job: delete the files no table version within the retention period needs, the
orphans of writes that died before their commit included (a killed job leaves its data files,
never a half-committed version)."""

from __future__ import annotations

from dataclasses import dataclass

from recsys.catalog import lake_tables
from recsys.jobs._context import JobContext
from recsys.jobs._result import JobResult
from recsys.lakehouse import LakeError, check_retention
from recsys.runs import T_RUNS, RunRecorder

JOB = "vacuum"


@dataclass(frozen=True)
class VacuumConfig:
    tables: tuple[str, ...] = ()
    """Tables to vacuum; empty: every table under the lake root."""
    retention_hours: float | None = None
    """Files must be at least this old; ``None``: ``lake.vacuum_retention_hours``."""
    force: bool = False
    """Allow a retention below the 168 h safety limit (only when no job is running)."""


def run(ctx: JobContext, config: VacuumConfig = VacuumConfig()) -> JobResult:
    lake = ctx.lake
    hours = config.retention_hours
    if hours is None:
        hours = ctx.settings.lake.vacuum_retention_hours
    check_retention(hours, config.force)  # before anything, a run row included
    names = list(config.tables) or lake_tables(lake)
    missing = [n for n in names if not lake.exists(n)]
    if missing:
        raise LakeError(
            f"no table {', '.join(missing)} under {lake.root}; see `recsys sql 'SHOW TABLES'`"
        )
    deleted: dict[str, int] = {}
    params = {"tables": names, "retention_hours": hours, "force": config.force}
    with RunRecorder(lake, JOB, params=params) as run:
        for name in names:
            if name == T_RUNS:
                continue  # vacuumed last, after this run's own row is appended
            with run.timed(name):
                deleted[name] = len(lake.vacuum(name, hours, force=config.force))
        run.params["deleted_files"] = dict(deleted)
    if T_RUNS in names:
        deleted[T_RUNS] = len(lake.vacuum(T_RUNS, hours, force=config.force))
    lines = [f"vacuum {run.run_id}: retention {hours:g} h, {sum(deleted.values())} files deleted"]
    lines += [f"  {name:<20} {count:>6} files" for name, count in deleted.items()]
    return JobResult(JOB, run.run_id, {}, {}, "\n".join(lines), deleted)
