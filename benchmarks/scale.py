"""Scale benchmark: the whole pipeline per synthetic size, next to a bare Spark MLlib program.

For each size (``default``, ``1m``, ``10m``, ``25m``: presets of ``recsys ingest --size``) a
child process, started fresh so its memory peak is its own, runs in one Spark session:

1. the pipeline from an empty lake, every stage timed (ingest, ALS, content, recommend with the
   steps it records in ``runs``) through ``recsys.pipeline.run_pipeline``;
2. the reference a data engineer would write with bare MLlib on the same ``ratings`` table:
   read it, ``ALS.fit`` with the pipeline's implicit ALS parameters, ``recommendForAllUsers(10)``,
   write Parquet;
3. the pipeline's evaluate stage, timed apart;

and reports peak memory: the driver JVM's resident high-water mark (``VmHWM``) and the Python
driver's ``ru_maxrss``. The parent prints one table: seconds per stage, the pipeline (ingest to
recommendations, evaluate apart) as a multiple of the reference, and each stage's growth
exponent between consecutive sizes (log time ratio / log ratings ratio).

    .venv/bin/python benchmarks/scale.py                        # default,1m,10m
    .venv/bin/python benchmarks/scale.py --sizes default --keep /tmp/scale
    .venv/bin/python benchmarks/scale.py --sizes 25m --set-als rank=64 --no-evaluate

Timings are wall seconds on whatever else the machine is doing: run it alone.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STAGES = ("ingest", "als", "content", "blend", "evaluate")
"""Pipeline stages in order; ``blend`` is the ``recsys recommend`` job."""
BUILD = ("ingest", "als", "content", "blend")
"""The stages that make the recommendations (compared with the reference)."""


def _jvm_peak_mib() -> float | None:
    """Resident high-water mark of this process's Java child (the local driver JVM)."""
    me = os.getpid()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(me) and fields.get("Name", "").strip() == "java":
            return int(fields["VmHWM"].split()[0]) / 1024
    return None


def reference(spark, lake, als_params: dict, out: str) -> dict[str, float]:
    """The bare MLlib program: read, fit, recommendForAllUsers(10), write Parquet."""
    from pyspark.ml.recommendation import ALS

    t0 = time.perf_counter()
    ratings = lake.read("ratings").select("user_id", "movie_id", "rating")
    als = ALS(
        implicitPrefs=True,
        rank=als_params["rank"],
        maxIter=als_params["max_iter"],
        regParam=als_params["reg_param"],
        alpha=als_params["alpha"],
        seed=42,
        userCol="user_id",
        itemCol="movie_id",
        ratingCol="rating",
        numUserBlocks=spark.sparkContext.defaultParallelism,
        numItemBlocks=spark.sparkContext.defaultParallelism,
    )
    fit0 = time.perf_counter()
    model = als.fit(ratings)
    fit_s = time.perf_counter() - fit0
    rec0 = time.perf_counter()
    model.recommendForAllUsers(10).write.mode("overwrite").parquet(out)
    return {
        "reference": time.perf_counter() - t0,
        "reference_fit": fit_s,
        "reference_recommend_write": time.perf_counter() - rec0,
    }


def child(
    size: str, work: Path, profile: str | None, als_set: list[str], evaluate: bool = True
) -> dict:
    """One size in this process: the pipeline, then the reference, then (unless told not to)
    the evaluate stage, then the memory peaks."""
    from dataclasses import replace

    from recsys.als import config_for
    from recsys.ingest.synthetic import spec_for
    from recsys.jobs import JobContext
    from recsys.jobs.ingest import IngestConfig
    from recsys.pipeline import PipelineConfig, run_pipeline

    lake_root = work / size / "lake"
    shutil.rmtree(lake_root, ignore_errors=True)
    ctx = JobContext(profile=profile, overrides=[f"lake.root={lake_root}"])
    als_config = config_for("implicit", **_als_overrides(als_set))
    base = PipelineConfig(ingest=IngestConfig(source=spec_for(size)))
    base = replace(base, als=replace(base.als, model=als_config))
    seconds: dict[str, float] = {}

    def progress(stage) -> None:
        print(f"  {size} {stage.name}: {stage.seconds:.1f} s", flush=True)

    # the build, then the reference, then evaluate: at large sizes the two compared numbers
    # are printed before the longest stage starts
    built = run_pipeline(ctx, replace(base, stages=BUILD), on_stage=progress)
    als_params = als_config.to_dict()
    seconds.update(reference(ctx.spark, ctx.lake, als_params, str(work / size / "reference")))
    print(f"  {size} reference: {seconds['reference']:.1f} s", flush=True)
    results = [built]
    if evaluate:
        results.append(run_pipeline(ctx, replace(base, stages=("evaluate",)), on_stage=progress))
    for result in results:
        for name, stage in result.stages.items():
            seconds[name] = stage.seconds
    steps = _recorded_steps(ctx, built.stage_run_id("blend"))
    seconds.update({f"blend.{k}": v for k, v in steps.items()})
    n_ratings = ctx.lake.count("ratings")
    ctx.spark.stop()
    return {
        "size": size,
        "ratings": n_ratings,
        "als": {k: als_params[k] for k in ("rank", "max_iter", "reg_param", "alpha")},
        "seconds": seconds,
        "jvm_peak_mib": _jvm_peak_mib(),
        "python_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _als_overrides(als_set: list[str]) -> dict:
    out: dict = {}
    for item in als_set:
        key, value = item.split("=", 1)
        out[key] = int(value) if key in ("rank", "max_iter") else float(value)
    return out


def _recorded_steps(ctx, run_id: str | None) -> dict[str, float]:
    """The recommend run's step timings from ``runs`` (its candidate sources and writes)."""
    from pyspark.sql import functions as F

    if run_id is None:
        return {}
    row = ctx.lake.read("runs").where(F.col("run_id") == run_id).select("timings").first()
    return dict(row["timings"] or {}) if row else {}


def _exponent(t1: float, t2: float, n1: int, n2: int) -> float | None:
    if min(t1, t2) <= 0 or n1 == n2:
        return None
    return math.log(t2 / t1) / math.log(n2 / n1)


def report(results: list[dict]) -> str:
    """The markdown table: seconds per stage per size, ratios, growth exponents."""
    keys = ["ingest", "als", "content", "blend"]
    keys += sorted({k for r in results for k in r["seconds"] if k.startswith("blend.")})
    keys += ["evaluate", "reference", "reference_fit"]
    head = ["size", "ratings", *keys, "build / reference", "JVM peak MiB", "Python peak MiB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        s = r["seconds"]
        build = sum(s.get(k, 0.0) for k in BUILD)
        ratio = build / s["reference"] if s.get("reference") else float("nan")
        cells = [r["size"], f"{r['ratings']:,}", *[f"{s[k]:.1f}" if k in s else "-" for k in keys]]
        cells += [f"{ratio:.2f}x", f"{r['jvm_peak_mib'] or 0:.0f}", f"{r['python_peak_mib']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    for a, b in itertools.pairwise(results):
        cells = [f"exponent {a['size']}->{b['size']}", ""]
        for k in keys:
            sa, sb = a["seconds"].get(k, 0.0), b["seconds"].get(k, 0.0)
            e = _exponent(sa, sb, a["ratings"], b["ratings"])
            cells.append("-" if e is None else f"{e:.2f}")
        lines.append("| " + " | ".join([*cells, "", "", ""]) + " |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="default,1m,10m", help="synthetic presets, in order")
    p.add_argument("--profile", help="settings profile (default: local)")
    p.add_argument(
        "--set-als",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="ALS parameter for both the pipeline and the reference, e.g. rank=64",
    )
    p.add_argument(
        "--no-evaluate",
        action="store_true",
        help="skip the evaluate stage (it retrains every model on a split: at 25m, hours)",
    )
    p.add_argument("--keep", help="work folder to keep (default: a temporary one, deleted)")
    p.add_argument("--json", help="also write the raw results here")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="recsys-scale-"))
    if args.child:
        result = child(args.child, work, args.profile, args.set_als, not args.no_evaluate)
        (work / f"{args.child}.json").write_text(json.dumps(result))
        return 0
    results = []
    try:
        for size in [s.strip() for s in args.sizes.split(",") if s.strip()]:
            cmd = [sys.executable, __file__, "--child", size, "--keep", str(work)]
            cmd += ["--profile", args.profile] if args.profile else []
            for item in args.set_als:
                cmd += ["--set-als", item]
            cmd += ["--no-evaluate"] if args.no_evaluate else []
            print(f"== {size}", flush=True)
            subprocess.run(cmd, check=True)
            results.append(json.loads((work / f"{size}.json").read_text()))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    als = results[0]["als"] if results else {}
    print(f"\nimplicit ALS {als}; seconds of wall time; build = ingest + als + content + blend")
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
