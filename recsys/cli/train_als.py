"""``recsys train-als`` / ``spark-submit jobs/train_als.py``: tune, fit and evaluate Spark ALS on
the lake's ``ratings``; write factors, candidates, the model, the search table and metrics.

Examples::

    recsys train-als                                   # implicit, default params, top-100
    recsys train-als --mode explicit --grid full       # RMSE search on a validation split
    recsys train-als --rank 32,64 --alpha 5,20         # search exactly these values
    recsys train-als --split none --top-n 200          # production: no held-out evaluation
"""

from __future__ import annotations

import argparse
from typing import Any

from recsys.als import MODE_DEFAULTS, SPLITS, ALSConfig
from recsys.config import Settings
from recsys.jobs import JobContext
from recsys.jobs import train_als as job
from recsys.jobs.configs import job_config

_SEARCHABLE = {"rank": int, "reg_param": float, "alpha": float, "max_iter": int, "confidence": str}


def _values(kind: type):
    def parse(text: str) -> list:
        return [kind(v) for v in text.split(",") if v.strip()]

    return parse


def _default(name: str) -> str:
    per_mode = {m: v.get(name, getattr(ALSConfig(), name)) for m, v in MODE_DEFAULTS.items()}
    return ", ".join(f"{v} {m}" for m, v in per_mode.items())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags override the profile's ``train_als`` section; absent ones leave it alone."""
    d, job_d = ALSConfig(), job.TrainAlsConfig()
    parser.add_argument(
        "--mode",
        choices=["explicit", "implicit"],
        help=f"explicit = rating prediction, implicit = ranking (default {d.mode})",
    )
    parser.add_argument(
        "--grid",
        choices=["none", "small", "full"],
        help="search grid on a validation split of train (default none: use "
        "the values given / the defaults)",
    )
    for name, kind in _SEARCHABLE.items():
        flag = "--" + name.replace("_", "-")
        parser.add_argument(
            flag,
            type=_values(kind),
            metavar="V[,V...]",
            help=f"{name} (default {_default(name)}); several values = search them",
        )
    parser.add_argument(
        "--threshold", type=float, help="lowest rating kept with --confidence threshold"
    )
    parser.add_argument(
        "--no-biases", action="store_const", const=False, dest="biases", help="explicit: plain ALS"
    )
    parser.add_argument(
        "--num-blocks", type=int, help="ALS user/item blocks (default: Spark's parallelism)"
    )
    parser.add_argument("--seed", type=int, help=f"default {d.seed}")
    parser.add_argument(
        "--split",
        choices=SPLITS,
        help=f"held-out evaluation split (default {job_d.split}: 75/25 per user)",
    )
    parser.add_argument("--k", type=int, help=f"cut-off of the ranking metrics ({job_d.k})")
    parser.add_argument("--top-n", type=int, help=f"candidates per user ({job_d.top_n})")
    parser.add_argument("--dataset", help=f"label of the data in `metrics` ({job_d.dataset})")
    parser.add_argument("--run-id", help="default: train_als-<UTC time>-<random>")
    parser.add_argument(
        "--no-baselines",
        action="store_const",
        const=False,
        dest="baselines",
        help="skip most-popular",
    )
    parser.add_argument(
        "--candidates-only",
        action="store_const",
        const=True,
        help="write only als_candidates, not the model or factor tables (scoring runs)",
    )


_MODEL_FLAGS = ("mode", "threshold", "biases", "num_blocks", "seed")
_JOB_FLAGS = ("split", "k", "top_n", "dataset", "run_id", "baselines", "candidates_only")


def flags(args: argparse.Namespace) -> dict[str, Any]:
    """The flags given, as ``train_als`` section keys (a searched list keeps its first value
    in ``model``; :func:`config` turns the lists into the grid)."""
    model = {n: getattr(args, n) for n in _MODEL_FLAGS if getattr(args, n, None) is not None}
    model |= {n: v[0] for n in _SEARCHABLE if (v := getattr(args, n, None))}
    given = {n: getattr(args, n) for n in _JOB_FLAGS if getattr(args, n, None) is not None}
    return {**given, **({"model": model} if model else {})}


def config(
    args: argparse.Namespace, settings: Settings, base: job.TrainAlsConfig | None = None
) -> job.TrainAlsConfig:
    """The profile's ``train_als`` section with the flags on top; ``--grid`` (a preset of the
    final mode) and flags with several values make the search grid."""
    chosen = job_config(settings, "train_als", flags(args), base=base)
    searched = {name: getattr(args, name, None) for name in _SEARCHABLE}
    return job.with_grid(chosen, getattr(args, "grid", None), searched)


def run(args: argparse.Namespace, ctx: JobContext) -> int:
    print(job.run(ctx, config(args, ctx.settings)).summary)
    return 0
