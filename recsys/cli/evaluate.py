"""``recsys evaluate``: score the model jobs (retrained on a split of the lake's ratings) and the
baselines on the held-out part; append to ``metrics`` and print the table."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from recsys.jobs import JobContext
from recsys.jobs import evaluate as job
from recsys.jobs.evaluate import BASELINES, MODEL_TABLES, SPLITS

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


def stage_configs(args: argparse.Namespace) -> dict[str, Any]:
    """The model jobs' configs from ``--als-args`` etc., each string parsed by that job's own
    command-line parser (ALS defaults to ``--split none``: evaluate scores it on its split)."""
    from recsys.cli import job_args, recommend, train_als, train_content

    argv = stage_argv(args)
    als = (
        argv["als"]
        if any(a.startswith("--split") for a in argv["als"])
        else ["--split", "none", *argv["als"]]
    )
    return {
        "als": train_als.config(job_args("train-als", als)),
        "content": train_content.config(job_args("train-content", argv["content"])),
        "recommend": recommend.config(job_args("recommend", argv["blend"])),
    }


def config(args: argparse.Namespace) -> job.EvaluateConfig:
    return job.EvaluateConfig(
        split=args.split,
        ratio=args.ratio,
        seed=args.seed,
        k=args.k,
        models=tuple(m.strip() for m in args.models.split(",") if m.strip()),
        keep_scratch=args.keep_scratch,
        dataset=args.dataset_label,
        **stage_configs(args),
    )


def run(args: argparse.Namespace, ctx: JobContext) -> int:
    print(job.run(ctx, config(args)).summary)
    return 0
