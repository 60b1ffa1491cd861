"""``recsys evaluate``: score the model jobs (retrained on a split of the lake's ratings) and the
baselines on the held-out part; append to ``metrics`` and print the table."""

from __future__ import annotations

import argparse
import shlex
from dataclasses import replace
from typing import Any

from recsys.config import Settings
from recsys.evaluation import SPLITS
from recsys.jobs import JobContext
from recsys.jobs import evaluate as job
from recsys.jobs.configs import job_config
from recsys.jobs.evaluate import BASELINES, MODEL_TABLES

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
    """Flags override the profile's ``evaluate`` section; absent ones leave it alone."""
    d = job.EvaluateConfig()
    models = (*MODEL_TABLES, *BASELINES)
    parser.add_argument("--split", choices=SPLITS, help=f"default {d.split}")
    parser.add_argument("--ratio", type=float, help=f"train share ({d.ratio})")
    parser.add_argument("--seed", type=int, help=f"default {d.seed}")
    parser.add_argument("--k", type=int, help=f"default {d.k}")
    parser.add_argument(
        "--models", help=f"comma-separated subset of {','.join(models)} (default: all)"
    )
    parser.add_argument(
        "--dataset-label",
        dest="dataset",
        help="the metrics' dataset column (default: the source of the latest ingest run)",
    )
    parser.add_argument(
        "--keep-scratch",
        action="store_const",
        const=True,
        help="keep the models' split tables under <lake>/_eval/<run id>",
    )
    add_stage_arguments(parser)


def flags(args: argparse.Namespace) -> dict[str, Any]:
    """The flags given, as ``evaluate`` section keys."""
    names = ("split", "ratio", "seed", "k", "dataset", "keep_scratch")
    given = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    if getattr(args, "models", None):
        given["models"] = [m.strip() for m in args.models.split(",") if m.strip()]
    return given


def stage_configs(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """The model jobs' configs (EvaluateConfig's fields): the profile's sections with
    ``--als-args`` etc. on top, each string parsed by that job's own command-line parser (ALS
    defaults to ``--split none``: evaluate scores it on its own split)."""
    from recsys.cli import job_args, recommend, train_als, train_content
    from recsys.jobs.train_als import TrainAlsConfig

    argv = stage_argv(args)
    als = job_args("train-als", argv["als"])
    return {
        "als": train_als.config(als, settings, base=TrainAlsConfig(split="none")),
        "content": train_content.config(job_args("train-content", argv["content"]), settings),
        "recommend": recommend.config(job_args("recommend", argv["blend"]), settings),
    }


def config(args: argparse.Namespace, settings: Settings) -> job.EvaluateConfig:
    chosen = job_config(settings, "evaluate", flags(args))
    return replace(chosen, **stage_configs(args, settings))


def run(args: argparse.Namespace, ctx: JobContext) -> int:
    print(job.run(ctx, config(args, ctx.settings)).summary)
    return 0
