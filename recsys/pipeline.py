"""The whole product in one call: ingest -> ALS -> content -> blend -> evaluate.

Each stage IS its owner's job (``recsys ingest``, ``recsys train-als``, ``recsys
train-content``, ``recsys recommend``, ``recsys evaluate``), run in this one Spark session with
its own arguments. Every job reads its inputs from the lake and writes its outputs there and to
``runs``, so a cluster scheduler that runs the same jobs as separate steps gets the same tables;
this module only sequences them, times them, and records one ``pipeline`` row in ``runs``.

Every stage's job is resolved before the first one runs, so a missing stage fails the pipeline
at once, by name, instead of after a long ingest.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.catalog import lake_tables
from recsys.display import format_table
from recsys.errors import RecsysError
from recsys.evaluation import format_metrics
from recsys.lakehouse import Lake
from recsys.runs import T_RUNS, RunRecorder, new_run_id

# stage -> the `recsys` sub-command that implements it, in pipeline order.
STAGES: dict[str, str] = {
    "ingest": "ingest",
    "als": "train-als",
    "content": "train-content",
    "blend": "recommend",
    "evaluate": "evaluate",
}


# A stage's arguments when none are given. ALS skips its own held-out evaluation: the evaluate
# stage scores ALS (retrained on the split) next to every other model with the same protocol.
DEFAULT_ARGV: dict[str, list[str]] = {"als": ["--split", "none"]}


class StageUnavailable(RecsysError):
    """A stage's job does not exist (yet) in this installation."""


class StageFailed(RecsysError):
    """A stage's job returned a non-zero exit code."""


@dataclass
class StageResult:
    name: str
    command: str
    seconds: float
    output: str
    """What the job printed (its own short summary)."""
    run_id: str | None = None
    """The job's own row in ``runs``, when it recorded one."""


@dataclass
class PipelineResult:
    run_id: str
    lake_root: str
    stages: dict[str, StageResult] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.stages.values())

    def stage_run_id(self, name: str) -> str | None:
        stage = self.stages.get(name)
        return stage.run_id if stage else None


class _Tee(io.StringIO):
    """Keeps what a stage prints while still showing it live."""

    def __init__(self, stream: Any):
        super().__init__()
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(text)
        return super().write(text)

    def flush(self) -> None:
        self._stream.flush()


def _versions(lake: Lake) -> dict[str, int | None]:
    return {name: lake.version(name) for name in lake_tables(lake)}


class _StageRecorder(RunRecorder):
    """Records a stage in ``runs`` only when its job did not record a run of its own (the
    ingest job prints its summary instead), with the table versions the stage wrote."""

    def __init__(self, ctx: Any, job: str, params: dict[str, Any]):
        super().__init__(ctx.lake, job, params=params)
        self.stage_run_id: str | None = None
        self._before: dict[str, int | None] = {}
        self._since = 0.0

    def __enter__(self) -> _StageRecorder:
        self._before, self._since = _versions(self.lake), time.time()
        return super().__enter__()  # type: ignore[return-value]

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        own = _latest_run_id(self.lake, self._since)
        if own is not None:
            self.stage_run_id = own
            return
        after = _versions(self.lake)
        self.output_versions.update(
            {n: v for n, v in after.items() if v is not None and v != self._before.get(n)}
        )
        self.stage_run_id = self.run_id
        super().__exit__(exc_type, exc, tb)


def job_module(command: str) -> ModuleType:
    """The CLI module of ``recsys <command>``, or :class:`StageUnavailable` naming what is
    missing."""
    from recsys.cli import COMMANDS

    module_name = f"recsys.cli.{COMMANDS[command][0]}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            path = module_name.replace(".", "/") + ".py"
            raise StageUnavailable(
                f"`recsys {command}` is not available: {path} does not exist yet"
            ) from exc
        raise StageUnavailable(
            f"`recsys {command}` cannot be loaded: module {exc.name} is missing"
        ) from exc
    if not callable(getattr(module, "run", None)):
        raise StageUnavailable(f"`recsys {command}` ({module_name}) has no run(args, ctx)")
    return module


def stage_args(command: str, argv: Sequence[str] = ()) -> argparse.Namespace:
    """``argv`` parsed by the job's own parser, so defaults are the job's own."""
    parser = argparse.ArgumentParser(prog=f"recsys {command}", add_help=False)
    job_module(command).add_arguments(parser)
    return parser.parse_args(list(argv))


def stage_namespace(
    name: str, given: argparse.Namespace | Sequence[str] | None = None
) -> argparse.Namespace:
    """Stage ``name``'s job arguments: ``given`` as is when already parsed, else parsed by the
    job's own parser (default argv: :data:`DEFAULT_ARGV`, else none)."""
    if isinstance(given, argparse.Namespace):
        return given
    return stage_args(STAGES[name], given or DEFAULT_ARGV.get(name, []))


def model_stage_args(
    args: Mapping[str, argparse.Namespace | Sequence[str]],
) -> dict[str, argparse.Namespace]:
    """What evaluate retrains with: every model job's arguments, whether or not that job runs
    in this pipeline (``--stages evaluate`` alone still retrains with the given settings)."""
    return {n: stage_namespace(n, args.get(n)) for n in ("als", "content", "blend")}


def check_stages(stages: Sequence[str]) -> list[str]:
    """The chosen stages in pipeline order, after checking each one's job loads."""
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise RecsysError(f"unknown pipeline stage(s) {unknown}; choose from {list(STAGES)}")
    chosen = [s for s in STAGES if s in stages]
    missing = []
    for name in chosen:
        try:
            job_module(STAGES[name])
        except StageUnavailable as exc:
            missing.append(f"{name}: {exc}")
    if missing:
        raise StageUnavailable("pipeline stage(s) missing; " + "; ".join(missing))
    return chosen


def _latest_run_id(lake: Lake, since: float) -> str | None:
    """The newest ``runs`` row started after ``since`` (epoch seconds): the stage's own."""
    if not lake.exists(T_RUNS):
        return None
    row = (
        lake.read(T_RUNS)
        .where(F.col("started_at") >= F.lit(since - 1).cast("timestamp"))
        .where(F.col("job") != "pipeline")
        .orderBy(F.col("started_at").desc())
        .select("run_id")
        .first()  # one row
    )
    return row["run_id"] if row else None


def run_pipeline(
    ctx: Any,
    args: Mapping[str, argparse.Namespace | Sequence[str]] | None = None,
    *,
    stages: Sequence[str] = tuple(STAGES),
    on_stage: Callable[[StageResult], None] | None = None,
) -> PipelineResult:
    """Run ``stages`` in pipeline order in ``ctx`` (a :class:`recsys.cli._context.JobContext`:
    settings, Spark session, lake) and return what each did.

    ``args[stage]`` is the stage job's arguments: a parsed namespace, or an argv list parsed by
    the job's own parser (default: :data:`DEFAULT_ARGV`, else the job's own defaults).
    ``on_stage`` is called after each stage, e.g. to print progress. A failing stage stops the
    pipeline; the ``pipeline`` row in ``runs`` records which.
    """
    chosen = check_stages(stages)  # fail before doing any work
    args = dict(args or {})
    parsed = {name: stage_namespace(name, args.get(name)) for name in chosen}
    if "evaluate" in parsed:  # evaluate retrains the model jobs with the very same arguments
        models = model_stage_args(args)
        parsed["evaluate"] = argparse.Namespace(**vars(parsed["evaluate"]), _stage_args=models)
    result = PipelineResult(run_id=new_run_id("pipeline"), lake_root=ctx.lake.root)
    params: dict[str, Any] = {
        "stages": chosen,
        "args": {
            n: {k: v for k, v in vars(a).items() if not k.startswith("_")}
            for n, a in parsed.items()
        },
        "stage_run_ids": {},
    }
    with RunRecorder(ctx.lake, "pipeline", params=params, run_id=result.run_id) as run:
        for name in chosen:
            command = STAGES[name]
            module = job_module(command)
            out = _Tee(sys.stdout)
            t0 = time.perf_counter()
            job_params = {k: v for k, v in vars(parsed[name]).items() if not k.startswith("_")}
            recorder = _StageRecorder(ctx, command.replace("-", "_"), job_params)
            with run.timed(name), recorder, contextlib.redirect_stdout(out):
                code = module.run(parsed[name], ctx)
            stage = StageResult(
                name, command, time.perf_counter() - t0, out.getvalue(), recorder.stage_run_id
            )
            result.stages[name] = stage
            params["stage_run_ids"][name] = stage.run_id
            if on_stage is not None:
                on_stage(stage)
            if code:
                raise StageFailed(f"stage {name} (`recsys {command}`) exited with code {code}")
    return result


# ---- what `recsys pipeline` prints at the end ------------------------------------------------
SHORT_METRICS: tuple[str, ...] = (
    "precision",
    "recall",
    "ndcg",
    "map",
    "coverage",
    "diversity",
    "novelty",
)


def pick_user(recs: DataFrame) -> int | None:
    """The sample user when none is given: the smallest id that has recommendations."""
    row = recs.agg(F.min(C.USER_ID).alias("u")).first()  # one row
    return None if row is None or row["u"] is None else int(row["u"])


def user_report(lake: Lake, user: int | None = None, run_id: str | None = None, n: int = 10) -> str:
    """A user's top-``n`` with titles and reasons, after a line about their history.

    ``run_id`` selects one run's rows when ``recommendations`` keeps several; default: the
    newest run in the table.
    """
    recs = lake.read(C.T_RECOMMENDATIONS)
    if C.RUN_ID in recs.columns:
        if run_id is None:
            row = recs.agg(F.max(C.RUN_ID).alias("r")).first()  # one row
            run_id = row["r"] if row else None
        if run_id is not None:
            recs = recs.where(F.col(C.RUN_ID) == run_id)
    if user is None:
        user = pick_user(recs)
        if user is None:
            return "recommendations is empty: no user to show"
    titles = lake.read(C.T_MOVIES).select(C.MOVIE_ID, C.TITLE)
    mine = recs.where(F.col(C.USER_ID) == user)
    cols = [c for c in (C.RANK, C.TITLE, C.SCORE, C.REASON) if c in mine.columns or c == C.TITLE]
    top = mine.join(titles, C.MOVIE_ID, "left").orderBy(C.RANK).select(*cols).limit(n).collect()
    rated = lake.read(C.T_RATINGS).where(F.col(C.USER_ID) == user)
    stats = rated.agg(F.count(F.lit(1)).alias("n"), F.avg(C.RATING).alias("mean")).first()
    favourites = (
        rated.join(titles, C.MOVIE_ID, "left")
        .orderBy(F.col(C.RATING).desc(), F.col(C.RATED_AT).desc(), C.MOVIE_ID)
        .select(C.TITLE, C.RATING)
        .limit(3)
        .collect()
    )
    if stats["n"]:
        liked = "; ".join(f"{r[C.TITLE]} {r[C.RATING]:g}/5" for r in favourites)
        head = f"user {user} rated {stats['n']} movies (mean {stats['mean']:.2f}), e.g. {liked}"
    else:
        head = f"user {user} has no ratings (cold start)"
    if not top:
        return f"{head}\nno recommendations for user {user}"
    body = format_table(cols, [tuple(r) for r in top], max_width=70, float_digits=3)
    return f"{head}\ntop {len(top)} recommendations (run {run_id}):\n{body}"


def metrics_report(lake: Lake, run_id: str | None, names: Sequence[str] = SHORT_METRICS) -> str:
    """The evaluation run's metrics, one line per model (best nDCG first)."""
    if not lake.exists(C.T_METRICS):
        return "no metrics table (the evaluate stage did not run)"
    metrics = lake.read(C.T_METRICS)
    if run_id is None:
        row = metrics.agg(F.max(C.RUN_ID).alias("r")).first()  # one row
        run_id = row["r"] if row else None
    rows = (
        metrics.where(
            (F.col(C.RUN_ID) == run_id) & F.col(C.METRIC).isin(list(names))
        ).collect()  # a few rows per model
    )
    if not rows:
        return f"no metrics for run {run_id}"
    ndcg = {r[C.MODEL]: r[C.VALUE] for r in rows if r[C.METRIC] == "ndcg"}
    rows.sort(key=lambda r: (-(ndcg.get(r[C.MODEL]) or 0.0), r[C.MODEL]))
    return format_metrics(rows)
