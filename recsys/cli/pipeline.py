"""``recsys pipeline``: ingest -> ALS -> content -> blend -> evaluate in one Spark session, then
a sample user's top-10 with titles and reasons, and the models' metrics.

Every stage's settings come from the profile's job sections (``--set recommend.ease.k=300``);
the ingest flags are ``recsys ingest``'s own (``--dataset ml-100k --mirror ../shared/data``, a
ratings file and a movies file, a synthetic size...); the other jobs' flags can be given as one
string each (``--als-args "..."``), exactly as on their own command line.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from recsys import columns as C
from recsys.catalog import lake_tables
from recsys.cli import evaluate as evaluate_cli
from recsys.cli import ingest as ingest_cli
from recsys.cli import job_args
from recsys.config import Settings
from recsys.jobs import JobContext
from recsys.jobs.queries import metrics_report, user_report
from recsys.pipeline import STAGES, PipelineConfig, StageResult, run_pipeline, stage_names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    ingest_cli.add_arguments(parser)  # the flags of `recsys ingest`, with its groups
    parser.add_argument(
        "--dataset", dest="source", default=argparse.SUPPRESS, help="same as --source"
    )
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


def config(args: argparse.Namespace, settings: Settings) -> PipelineConfig:
    """Every stage's config: the profile's job sections with the flags on top; bad flags fail
    here, before any stage runs."""
    models = evaluate_cli.stage_configs(args, settings)
    evaluate = evaluate_cli.config(job_args("evaluate", shlex.split(args.evaluate_args)), settings)
    return PipelineConfig.from_settings(
        settings,
        stage_names(args.stages),
        ingest=ingest_cli.config(args, settings),
        als=models["als"],
        content=models["content"],
        blend=models["recommend"],
        evaluate=evaluate,
    )


def _progress(stage: StageResult) -> None:
    for note in stage.result.notes:
        print(f"note: {note}")
    print(stage.result.summary)
    print(
        f"== {stage.name}: `recsys {stage.command}` done in {stage.seconds:.1f} s "
        f"(run {stage.run_id})\n"
    )
    sys.stdout.flush()


def run(args: argparse.Namespace, ctx: JobContext) -> int:
    pipeline = config(args, ctx.settings)
    print(f"recsys pipeline: stages {', '.join(pipeline.stages)}; lake {ctx.lake.root}\n")
    result = run_pipeline(ctx, pipeline, on_stage=_progress)

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
