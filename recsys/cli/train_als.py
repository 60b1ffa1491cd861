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

from recsys.als import GRIDS, MODE_DEFAULTS, SPLITS, ALSConfig, config_for
from recsys.jobs import JobContext
from recsys.jobs import train_als as job

_SEARCHABLE = {"rank": int, "reg_param": float, "alpha": float, "max_iter": int, "confidence": str}


def _values(kind: type):
    def parse(text: str) -> list:
        return [kind(v) for v in text.split(",") if v.strip()]

    return parse


def _default(name: str) -> str:
    per_mode = {m: v.get(name, getattr(ALSConfig(), name)) for m, v in MODE_DEFAULTS.items()}
    return ", ".join(f"{v} {m}" for m, v in per_mode.items())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = ALSConfig()
    parser.add_argument(
        "--mode",
        choices=["explicit", "implicit"],
        default=d.mode,
        help=f"explicit = rating prediction, implicit = ranking (default {d.mode})",
    )
    parser.add_argument(
        "--grid",
        choices=["none", "small", "full"],
        default="none",
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
        "--threshold",
        type=float,
        default=d.threshold,
        help="lowest rating kept with --confidence threshold",
    )
    parser.add_argument("--no-biases", action="store_true", help="explicit mode: plain ALS")
    parser.add_argument(
        "--num-blocks",
        type=int,
        default=d.num_blocks,
        help="ALS user/item blocks (default: Spark's default parallelism)",
    )
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default="stratified",
        help="held-out evaluation split (default stratified 75/25 per user)",
    )
    parser.add_argument("--k", type=int, default=10, help="cut-off of the ranking metrics")
    parser.add_argument("--top-n", type=int, default=100, help="candidates per user (default 100)")
    parser.add_argument("--dataset", default="lake", help="label of the data in `metrics`")
    parser.add_argument("--run-id", help="default: train_als-<UTC time>-<random>")
    parser.add_argument("--no-baselines", action="store_true", help="skip most-popular")
    parser.add_argument(
        "--candidates-only",
        action="store_true",
        help="write only als_candidates, not the model or factor tables (scoring runs)",
    )


def config_and_grid(args: argparse.Namespace) -> tuple[ALSConfig, dict[str, list] | None]:
    """The base config from the flags, and the grid to search (``None`` = no search)."""
    given = {n: getattr(args, n) for n in _SEARCHABLE if getattr(args, n)}
    base = config_for(
        args.mode,
        threshold=args.threshold,
        biases=not args.no_biases,
        num_blocks=args.num_blocks,
        seed=args.seed,
        **{n: v[0] for n, v in given.items()},
    )
    grid = dict(GRIDS[args.mode][args.grid]) if args.grid != "none" else {}
    for name, values in given.items():  # values given on the command line win over the preset
        if len(values) > 1 or name in grid:
            grid[name] = values
    return base, grid or None


def config(args: argparse.Namespace) -> job.TrainAlsConfig:
    base, grid = config_and_grid(args)
    return job.TrainAlsConfig(
        als=base,
        grid=grid,
        split=args.split,
        k=args.k,
        top_n=args.top_n,
        dataset=args.dataset,
        run_id=args.run_id,
        baselines=not args.no_baselines,
        candidates_only=args.candidates_only,
    )


def run(args: argparse.Namespace, ctx: JobContext) -> int:
    print(job.run(ctx, config(args)).summary)
    return 0
