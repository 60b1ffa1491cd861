"""``recsys pipeline``: ingest -> ALS -> content -> blend -> evaluate in one Spark session, then
a sample user's top-10 with titles and reasons, and the models' metrics.

The ingest flags are ``recsys ingest``'s own (``--dataset ml-100k --mirror ../shared/data``,
a ratings file and a movies file, a synthetic size...); the other jobs take their arguments as
one string each (``--als-args "..."``), exactly as they would on their own command line.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from recsys import columns as C
from recsys.catalog import lake_tables
from recsys.cli import evaluate as evaluate_cli
from recsys.errors import RecsysError
from recsys.pipeline import (
    STAGES,
    StageResult,
    check_stages,
    job_module,
    metrics_report,
    run_pipeline,
    stage_args,
    user_report,
)

_INGEST_DESTS = "_ingest_dests"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    before = {a.dest for a in parser._actions}
    group = parser.add_argument_group("ingest (the flags of `recsys ingest`)")
    try:
        job_module("ingest").add_arguments(group)
    except RecsysError as exc:  # the ingest job is missing: the run will say so
        group.description = f"unavailable: {exc}"
    if any(a.dest == "source" for a in parser._actions):
        group.add_argument(
            "--dataset", dest="source", default=argparse.SUPPRESS, help="same as --source"
        )
    parser.set_defaults(**{_INGEST_DESTS: sorted({a.dest for a in parser._actions} - before)})
    pipe = parser.add_argument_group("pipeline")
    pipe.add_argument(
        "--stages",
        default=",".join(STAGES),
        help=f"comma-separated stages to run, in this order: {','.join(STAGES)} (default all)",
    )
    pipe.add_argument("--user", type=int, help="the sample user to print (default: the first)")
    pipe.add_argument("--show", type=int, default=10, help="rows of the sample user's list")
    evaluate_cli.add_stage_arguments(pipe)
    pipe.add_argument(
        "--evaluate-args",
        default="",
        metavar='"ARGS"',
        help='arguments for `recsys evaluate`, e.g. --evaluate-args="--split temporal"',
    )


def _progress(stage: StageResult) -> None:
    run = f" (run {stage.run_id})" if stage.run_id else ""
    print(f"== {stage.name}: `recsys {stage.command}` done in {stage.seconds:.1f} s{run}\n")
    sys.stdout.flush()


def run(args: argparse.Namespace, ctx) -> int:
    stages = check_stages([s.strip() for s in args.stages.split(",") if s.strip()])
    argv = evaluate_cli.stage_argv(args)
    parsed: dict[str, argparse.Namespace | list[str]] = {n: argv[n] for n in argv if n in stages}
    if "ingest" in stages:
        parsed["ingest"] = argparse.Namespace(
            **{d: getattr(args, d) for d in getattr(args, _INGEST_DESTS, [])}
        )
    if "evaluate" in stages:
        parsed["evaluate"] = stage_args("evaluate", shlex.split(args.evaluate_args))
    print(f"recsys pipeline: stages {', '.join(stages)}; lake {ctx.lake.root}\n")
    result = run_pipeline(ctx, parsed, stages=stages, on_stage=_progress)

    lines = [f"pipeline {result.run_id} finished in {result.seconds:.1f} s"]
    lines += [f"  {s.name:<9} {s.seconds:7.1f} s" for s in result.stages.values()]
    lines.append(f"tables under {ctx.lake.root}: {', '.join(lake_tables(ctx.lake))}")
    print("\n".join(lines) + "\n")
    if ctx.lake.exists(C.T_RECOMMENDATIONS):
        print(user_report(ctx.lake, args.user, n=args.show))
        print()
    if "evaluate" in result.stages:
        print("metrics on the held-out split (k = 10):")
        print(metrics_report(ctx.lake, result.stage_run_id("evaluate")))
    print('\nnext: recsys sql "SELECT * FROM recommendations WHERE user_id = 1 ORDER BY rank"')
    return 0
