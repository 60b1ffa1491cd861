"""The ingest job's batch: resolve a source, parse, validate, write the tables, summarise.

Every input is checked for readability (present, non-empty, recognised format) BEFORE any
table is written, so an unreadable input changes nothing. Writes are upserts, so re-running the
same ingest leaves the tables' content unchanged and a new batch merges into them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.storagelevel import StorageLevel

from recsys import columns as C
from recsys.errors import InputError
from recsys.ingest import movielens as ML
from recsys.ingest import validate as V
from recsys.ingest.generic import GenericSource, parse_generic
from recsys.lakehouse import Lake
from recsys.schemas import KEYS, SCHEMAS

SYNTHETIC = "synthetic"
# Table write order: the rejects last, so they describe the batch whose rows were written.
ORDER = (C.T_MOVIES, C.T_USERS, C.T_RATINGS, C.T_TAGS, C.T_REJECTS)
NEWER = {C.T_RATINGS: C.RATED_AT, C.T_TAGS: C.TAGGED_AT}
DUPLICATE = {
    C.T_RATINGS: V.Reason.DUPLICATE_RATING,
    C.T_TAGS: V.Reason.DUPLICATE_TAG,
    C.T_MOVIES: V.Reason.DUPLICATE_MOVIE,
    C.T_USERS: V.Reason.DUPLICATE_USER,
}


@dataclass
class IngestSummary:
    """What one ingest did; ``str()`` gives the lines the CLI prints."""

    lake_root: str
    source: str
    versions: dict[str, int] = field(default_factory=dict)
    """table -> Delta version written by this ingest."""
    rows: dict[str, int] = field(default_factory=dict)
    """table -> row count after this ingest."""
    rejects: dict[str, int] = field(default_factory=dict)
    """reason -> records of this batch rejected for it."""
    seconds: float = 0.0

    def __str__(self) -> str:
        lines = [f"ingested {self.source} into {self.lake_root}"]
        for name, version in self.versions.items():
            lines.append(f"  {name:<15} version {version:>4}  {self.rows.get(name, 0):>12,} rows")
        total = sum(self.rejects.values())
        lines.append(f"  rejects in this batch: {total:,}")
        lines += [f"    {r:<22} {n:>10,}" for r, n in sorted(self.rejects.items())]
        lines.append(f"  wall time {self.seconds:.1f} s")
        return "\n".join(lines)


def ingest(
    spark: SparkSession,
    lake: Lake,
    source: Any = SYNTHETIC,
    *,
    cache_dir: str = "~/.cache/recsys",
    mirror: str | None = None,
    commit_info: dict[str, str] | None = None,
) -> IngestSummary:
    """Load ``source`` into ``lake``'s ratings, movies, tags, users and ingest_rejects tables.

    ``source`` is one of: ``"synthetic"`` or a ``SyntheticConfig`` (the built-in generator); a
    MovieLens name (``"ml-100k"``, ``"ml-1m"``, ``"ml-latest-small"``, ``"ml-25m"``,
    ``"ml-32m"``: fetched into ``cache_dir`` or taken from ``mirror``); a path to a MovieLens
    zip or extracted folder (layout detected); or a :class:`GenericSource`.

    Raises :class:`~recsys.errors.InputError` (no table changed) when an input is unreadable.
    """
    started = time.perf_counter()
    label, parsed = resolve(spark, lake, source, cache_dir, mirror)
    summary = write_batch(spark, lake, parsed, commit_info)
    summary.source = label
    summary.seconds = time.perf_counter() - started
    return summary


# ---- sources ---------------------------------------------------------------------------------
def resolve(
    spark: SparkSession, lake: Lake, source: Any, cache_dir: str, mirror: str | None
) -> tuple[str, dict[str, DataFrame]]:
    """(label, parsed frames by table); every readability check happens here."""
    if isinstance(source, GenericSource):
        return source.ratings, parse_generic(spark, source)
    if source == SYNTHETIC or not isinstance(source, str | os.PathLike):
        from recsys.ingest import synthetic

        spec = synthetic.SyntheticConfig() if source == SYNTHETIC else source
        if not isinstance(spec, synthetic.SyntheticConfig):
            raise TypeError(f"unsupported ingest source {source!r}")
        label = (
            f"synthetic (users={spec.users}, movies={spec.movies}, "
            f"ratings_per_user={spec.ratings_per_user}, seed={spec.seed})"
        )
        return label, parse_synthetic(synthetic.generate(spark, spec))
    text = str(source)
    path = Path(text).expanduser()
    if not path.exists():
        from recsys.ingest import download

        if text not in download.MOVIELENS_DATASETS:
            known = ", ".join([SYNTHETIC, *download.MOVIELENS_DATASETS])
            raise InputError(
                f"source {text!r} is neither an existing zip/folder nor a known dataset ({known})"
            )
        path = download.fetch_movielens(text, str(Path(cache_dir).expanduser()), mirror)
    folder = extract_zip(path, cache_dir) if path.is_file() else path
    layout = ML.detect_layout(folder)
    ML.check_readable(layout)
    base = stage(spark, lake, layout)
    return str(source), ML.parse(spark, layout, base)


def extract_zip(zip_path: Path, cache_dir: str) -> Path:
    """Extract once into ``<cache_dir>/extracted/<sha256 prefix>`` (atomic rename, reused)."""
    if zip_path.suffix.lower() != ".zip":
        raise InputError(f"{zip_path}: expected a .zip archive or an extracted MovieLens folder")
    digest = hashlib.sha256()
    with zip_path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    target = Path(cache_dir).expanduser() / "extracted" / digest.hexdigest()[:16]
    if target.is_dir():
        return target
    tmp = target.with_name(f"{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(tmp)  # checks every member's CRC while extracting
        os.replace(tmp, target)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise InputError(
            f"{zip_path}: unreadable zip archive ({exc}); expected a complete MovieLens zip"
        ) from exc
    except OSError:
        if not target.is_dir():  # a concurrent extraction winning the rename is fine
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def is_remote(root: str) -> bool:
    return "://" in root and not root.startswith("file:")


def stage(spark: SparkSession, lake: Lake, layout: ML.Layout) -> str:
    """Where executors read the files: the local folder, or a ``<root>/_raw/<dataset>`` copy
    when the lake is remote (executors on other hosts cannot see this machine's disk)."""
    if not is_remote(lake.root):
        return str(layout.folder.resolve())
    dest = f"{lake.root.rstrip('/')}/_raw/{layout.dataset}"
    copy_to(spark, [layout.folder / n for n in layout.files.values()], dest)
    return dest


def copy_to(spark: SparkSession, files: list[Path], dest: str) -> None:
    """Copy local files into the folder ``dest`` (any Hadoop file system URI)."""
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path
    fs = hadoop_path(dest).getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    for f in files:
        fs.copyFromLocalFile(
            False, True, hadoop_path(str(f.resolve())), hadoop_path(f"{dest}/{f.name}")
        )


def parse_synthetic(frames: dict[str, DataFrame]) -> dict[str, DataFrame]:
    """Generated tables as parsed frames, so they pass the same rules as files do."""
    out = {}
    for name, df in frames.items():
        parsed = df.select(
            "*",
            F.lit(f"{SYNTHETIC}/{name}").alias(V.SRC),
            (F.monotonically_increasing_id() + 1).alias(V.LINE),
            F.to_json(F.struct(*df.columns)).alias(V.RECORD),
            F.lit(None).cast("string").alias(V.REASON),
        )
        out[name] = V.flag(parsed, *typed_rules(name, V.HALF_STARS))
    return out


def typed_rules(table: str, scale: V.RatingScale) -> list:
    """Rules for frames whose columns are already typed (synthetic, generic Parquet)."""
    ids = [c for c in KEYS.get(table, []) if c in (C.USER_ID, C.MOVIE_ID)]
    rules = V.id_rules(*ids)
    if table == C.T_RATINGS:
        rules += V.rating_rules(C.RATING, scale)
    return rules


# ---- validation across files and writing ----------------------------------------------------
def validate_batch(lake: Lake, parsed: dict[str, DataFrame]) -> dict[str, DataFrame]:
    """Cross-file rules: duplicates keep the latest, ratings/tags need a known movie, and a
    users table is derived from the ids when the source has no user file."""
    out = dict(parsed)
    if C.T_MOVIES in out:
        out[C.T_MOVIES] = V.keep_latest(
            out[C.T_MOVIES], KEYS[C.T_MOVIES], None, DUPLICATE[C.T_MOVIES]
        )
    known = []
    if C.T_MOVIES in out:
        known.append(out[C.T_MOVIES].where(F.col(V.REASON).isNull()).select(C.MOVIE_ID))
    if lake.exists(C.T_MOVIES):
        known.append(lake.read(C.T_MOVIES).select(C.MOVIE_ID))
    for name in (C.T_RATINGS, C.T_TAGS):
        if name not in out:
            continue
        df = out[name]
        if known:
            df = V.known_movies(df, known[0] if len(known) == 1 else known[0].union(known[1]))
        out[name] = V.keep_latest(df, KEYS[name], NEWER[name], DUPLICATE[name])
    if C.T_USERS in out:
        out[C.T_USERS] = V.keep_latest(out[C.T_USERS], KEYS[C.T_USERS], None, DUPLICATE[C.T_USERS])
    return out


def derived_users(good: dict[str, DataFrame]) -> DataFrame:
    """Users known only by id (ml-latest has no user file): demographics stay null."""
    ids = [good[t].select(C.USER_ID) for t in (C.T_RATINGS, C.T_TAGS) if t in good]
    users = ids[0] if len(ids) == 1 else ids[0].union(ids[1])
    return V.conform(users.distinct(), SCHEMAS[C.T_USERS])


def write_batch(
    spark: SparkSession,
    lake: Lake,
    parsed: dict[str, DataFrame],
    commit_info: dict[str, str] | None = None,
) -> IngestSummary:
    info = commit_info or {"job": "ingest"}  # every commit's userMetadata
    checked = {
        # Only rejects need their raw record: drop it from valid rows before caching them.
        name: df.withColumn(V.RECORD, F.when(F.col(V.REASON).isNotNull(), F.col(V.RECORD)))
        for name, df in validate_batch(lake, parsed).items()
    }
    for df in checked.values():
        df.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        good, rejects = {}, []
        for name, df in checked.items():
            good[name], bad = V.split(df, SCHEMAS[name])
            rejects.append(bad)
        if C.T_USERS not in good and C.T_RATINGS in good:
            good[C.T_USERS] = derived_users(good)
        now = datetime.now(UTC).replace(tzinfo=None)
        batch_rejects = V.finish_rejects(_union(rejects), F.lit(now).cast("timestamp"))
        good[C.T_REJECTS] = first_seen(lake, batch_rejects)
        summary = IngestSummary(lake_root=lake.root, source="")
        for name in ORDER:
            if name in good:
                summary.versions[name] = lake.upsert(
                    name, good[name], KEYS[name], newer_col=NEWER.get(name), **info
                )
        summary.rejects = {
            r[C.REASON]: r["count"]
            for r in batch_rejects.groupBy(C.REASON).count().collect()  # one row per reason
        }
    finally:
        for df in checked.values():
            df.unpersist()
    summary.rows = {name: lake.count(name) for name in summary.versions}
    return summary


def first_seen(lake: Lake, rejects: DataFrame) -> DataFrame:
    """Rejects not recorded yet: a re-run keeps each reject's first ``ingested_at``, so the
    table's content does not change."""
    if not lake.exists(C.T_REJECTS):
        return rejects
    seen = lake.read(C.T_REJECTS).select(*KEYS[C.T_REJECTS])
    return rejects.join(seen, KEYS[C.T_REJECTS], "left_anti").select(*rejects.columns)


def _union(frames: list[DataFrame]) -> DataFrame:
    out = frames[0]
    for df in frames[1:]:
        out = out.unionByName(df)
    return out
