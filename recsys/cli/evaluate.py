"""``recsys evaluate``: score the model jobs (retrained on a split of the lake's ratings) and the
baselines on the held-out part; append to ``metrics`` and print the table."""

from __future__ import annotations

import argparse
import json
import os
import shlex

from recsys import columns as C
from recsys.evaluation import format_metrics
from recsys.holdout import BASELINES, MODEL_TABLES, SPLITS, HoldoutSpec, evaluate_holdout
from recsys.runs import T_RUNS, RunRecorder

JOB = "evaluate"
# model stage -> the flag holding that job's arguments (shared with `recsys pipeline`)
STAGE_FLAGS = {"als": "als_args", "content": "content_args", "blend": "recommend_args"}


def add_stage_arguments(parser: argparse.ArgumentParser) -> None:
    """``--als-args`` etc.: arguments passed to a model job, as one quoted string."""
    for stage, dest in STAGE_FLAGS.items():
        flag = "--" + dest.replace("_", "-")
        command = {"als": "train-als", "content": "train-content", "blend": "recommend"}[stage]
        parser.add_argument(
            flag,
            dest=dest,
            default="",
            metavar='"ARGS"',
            help=f'arguments for `recsys {command}`, e.g. {flag}="--help"',
        )


def stage_argv(args: argparse.Namespace) -> dict[str, list[str]]:
    return {
        stage: shlex.split(getattr(args, dest, "") or "") for stage, dest in STAGE_FLAGS.items()
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    models = (*MODEL_TABLES, *BASELINES)
    parser.add_argument("--split", choices=SPLITS, default="stratified")
    parser.add_argument("--ratio", type=float, default=0.75, help="train share (default 0.75)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--models",
        default=",".join(models),
        help=f"comma-separated subset of {','.join(models)} (default: all)",
    )
    parser.add_argument(
        "--dataset-label",
        help="the metrics' dataset column (default: the source of the latest ingest run)",
    )
    parser.add_argument(
        "--keep-scratch",
        action="store_true",
        help="keep the models' split tables under <lake>/_eval/<run id>",
    )
    add_stage_arguments(parser)


def dataset_label(ctx) -> str:
    """What the latest successful ingest loaded (``ml-100k``, ``synthetic-small``, a ratings
    file's name), else the lake root."""
    from pyspark.sql import functions as F

    if ctx.lake.exists(T_RUNS):
        row = (
            ctx.lake.read(T_RUNS)
            .where((F.col("job") == "ingest") & (F.col("status") == "succeeded"))
            .orderBy(F.col("started_at").desc())
            .select("params")
            .first()  # one row
        )
        if row and row["params"]:
            return label_from_ingest(json.loads(row["params"]))
    return ctx.lake.root


def label_from_ingest(params: dict) -> str:
    if params.get("ratings"):
        return os.path.basename(str(params["ratings"]).rstrip("/"))
    source = str(params.get("source") or "lake")
    if source == "synthetic":
        return f"synthetic-{params.get('size') or 'default'}"
    return os.path.basename(source.rstrip("/")).removesuffix(".zip")


def run(args: argparse.Namespace, ctx) -> int:
    models = tuple(m.strip() for m in args.models.split(",") if m.strip())
    known = (*MODEL_TABLES, *BASELINES)
    unknown = [m for m in models if m not in known]
    if unknown:
        from recsys.errors import RecsysError

        raise RecsysError(f"unknown model(s) {unknown}; choose from {','.join(known)}")
    spec = HoldoutSpec(
        split=args.split,
        ratio=args.ratio,
        seed=args.seed,
        k=args.k,
        models=models,
        keep_scratch=args.keep_scratch,
    )
    label = args.dataset_label or dataset_label(ctx)
    params = {**vars(spec), "dataset": label, **stage_argv(args)}
    with RunRecorder(ctx.lake, JOB, params=params) as run:
        version = ctx.lake.version(C.T_RATINGS)
        if version is not None:
            run.input_versions[C.T_RATINGS] = version
        models = getattr(args, "_stage_args", None) or stage_argv(args)  # set by the pipeline
        result = evaluate_holdout(ctx, run.run_id, label, spec, models)
        if result.metrics_version is not None:
            run.wrote(C.T_METRICS, result.metrics_version, rows=None)
    rows = [
        {C.DATASET: label, C.SPLIT: spec.split, C.MODEL: m, C.K: spec.k, C.METRIC: k, C.VALUE: v}
        for m, values in result.metrics.items()
        for k, v in values.items()
    ]
    print(f"evaluate {run.run_id}: {spec.split} split {spec.ratio:g}, seed {spec.seed}, k={spec.k}")
    print(format_metrics(rows))
    return 0
