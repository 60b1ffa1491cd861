"""The ``recsys`` command: one sub-command per job, each also runnable as
``spark-submit jobs/<job>.py``. Sub-command modules define ``add_arguments(parser)`` and
``run(args, ctx) -> int``; they parse nothing else and hold no logic of their own."""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence

from recsys.errors import RecsysError
from recsys.jobs import JobContext

# sub-command -> (module under recsys.cli, one-line help); only the chosen one is imported.
COMMANDS: dict[str, tuple[str, str]] = {
    "ingest": ("ingest", "load MovieLens, a ratings file or synthetic data into Delta tables"),
    "train-als": ("train_als", "tune, fit and evaluate Spark ALS; write factors and candidates"),
    "train-content": ("train_content", "fit TF-IDF + LSH; write movie_neighbors, content scores"),
    "similar": ("similar", "print the movies most similar to a title"),
    "recommend": ("recommend", "blend models into per-user top-N with reasons"),
    "evaluate": ("evaluate", "evaluate models and baselines on a split; write metrics"),
    "pipeline": ("pipeline", "ingest -> ALS -> content -> blend -> evaluate in one run"),
    "sql": ("sql", "run read-only SQL over the lake tables"),
    "serve": ("serve", "serve recommendations over HTTP with a web app; fold in new ratings"),
    "vacuum": ("vacuum", "delete files no version within the retention needs (orphans too)"),
    "jars": ("jars", "fetch Delta's JVM jars once; print them for spark-submit --jars"),
    "config": ("config", "print every setting's effective value (profile + --set) as YAML"),
}


def _common(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """The options every command takes, before or after the command's name (after it wins;
    ``--set`` items from both places all apply, in order); the sub-command's copies leave
    absent options to the top level's defaults."""

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    parser.add_argument(
        "--profile",
        default=default(None),
        help="settings profile: a shipped one (local, cluster, test), one in ./conf or "
        "$RECSYS_CONF_DIR, or a YAML path; default $RECSYS_PROFILE or 'local'",
    )
    parser.add_argument(
        "--set",
        dest="overrides" if top else "overrides_after",  # both kept: a sub-parser's value
        action="append",  # would replace the top level's
        default=default([]),
        metavar="SECTION.KEY=VALUE",
        help="override a profile key, e.g. --set spark.shuffle_partitions=4 (repeatable)",
    )
    parser.add_argument(
        "--lake-root", default=default(None), help="shortcut for --set lake.root=..."
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        default=default(False),
        help="show Spark's own log (shortcut for --set spark.log_level=INFO)",
    )


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser; only ``command``'s module is imported to add its arguments."""
    parser = argparse.ArgumentParser(
        prog="recsys", description="Movie recommendations as Spark jobs writing Delta tables."
    )
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            mod = importlib.import_module(f"recsys.cli.{module}")
            _common(p)
            mod.add_arguments(p)
            p.set_defaults(_module=mod)
    return parser


def job_args(command: str, argv: Sequence[str] = ()) -> argparse.Namespace:
    """``argv`` parsed by ``recsys <command>``'s own arguments (its defaults where absent)."""
    parser = argparse.ArgumentParser(prog=f"recsys {command}", add_help=False)
    importlib.import_module(f"recsys.cli.{COMMANDS[command][0]}").add_arguments(parser)
    return parser.parse_args(list(argv))


def overrides(args: argparse.Namespace) -> list[str]:
    """``--set`` items plus the shortcuts ``--lake-root`` and ``--verbose``."""
    items = [*args.overrides, *getattr(args, "overrides_after", [])]
    if args.lake_root:
        items.append(f"lake.root={args.lake_root}")
    if args.verbose:
        items.append("spark.log_level=INFO")
    return items


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if a in COMMANDS), None)  # options may come first
    args = build_parser(command).parse_args(argv)
    ctx = JobContext(profile=args.profile, overrides=overrides(args))
    try:
        return int(args._module.run(args, ctx) or 0)
    except RecsysError as exc:
        print(f"recsys {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Exception:
        traceback.print_exc()
        print(
            f"recsys {args.command}: failed; no table was changed by the failing step",
            file=sys.stderr,
        )
        return 1
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
