"""Every lake table in one registry: its schema (the very StructType the job writes), key,
writer, and what each column means. ``docs/tables.md``'s table reference is generated from it
(``python -m recsys.jobs.tables``); ``tests/test_docs.py`` fails when the page is stale, when a
column has no meaning here, or when a job's registered schema differs from what it writes.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql.types import StructType

from recsys import columns as C
from recsys import schemas as S
from recsys.als import CANDIDATES, FACTORS, SEARCH
from recsys.blend import RECOMMENDATIONS, SIMILAR_MOVIES
from recsys.content import CONTENT_SCORES, MOVIE_NEIGHBORS
from recsys.evaluation import METRICS_SCHEMA
from recsys.ingest.validate import REASONS
from recsys.neighbors import NEIGHBORS_SCHEMA
from recsys.runs import RUNS, T_RUNS


@dataclass(frozen=True)
class Table:
    schema: StructType
    key: str
    writer: str
    """The command that writes it, and how (upsert, overwrite, append)."""
    row: str
    """What one row is."""
    columns: dict[str, str] = field(default_factory=dict)
    """Column -> meaning (shared meanings come from :data:`COMMON`)."""


COMMON = {
    C.USER_ID: "user id (the source's own)",
    C.MOVIE_ID: "movie id (the source's own)",
    C.RUN_ID: "the `runs` row of the job run that wrote the row",
    C.RANK: "1 = best, per user (per movie for neighbour tables)",
    C.NEIGHBOR_ID: "the neighbouring movie's id",
    C.BECAUSE_MOVIE_ID: "the rated movie contributing most (the reason)",
}

TABLES: dict[str, Table] = {
    C.T_RATINGS: Table(
        S.RATINGS, "user_id, movie_id", "`recsys ingest` (upsert)",
        "rating (the latest one when a user re-rated)",
        {C.RATING: "stars on the source's scale (0.5-5 for MovieLens)",
         C.RATED_AT: "UTC; null when the source has no time"},
    ),
    C.T_FEEDBACK: Table(
        S.RATINGS, "user_id, movie_id, rated_at", "`recsys serve` (append)",
        "rating posted to `POST /users/{id}/ratings`; the next `recsys ingest` upserts them "
        "into `ratings`",
        {C.RATING: "on the lake's rating scale (checked by the API)",
         C.RATED_AT: "UTC, when the server received it"},
    ),
    C.T_MOVIES: Table(
        S.MOVIES, "movie_id", "`recsys ingest` (upsert)", "movie",
        {C.TITLE: "as the source spells it, e.g. `Heat (1995)`",
         C.YEAR: "release year (from the title or the date)",
         C.GENRES: "empty when unknown", C.RELEASE_DATE: "ml-100k only"},
    ),
    C.T_TAGS: Table(
        S.TAGS, "user_id, movie_id, tag", "`recsys ingest` (upsert)", "tag a user put on a movie",
        {C.TAG: "the tag as typed", C.TAGGED_AT: "UTC"},
    ),
    C.T_USERS: Table(
        S.USERS, "user_id", "`recsys ingest` (upsert)",
        "user (demographics only where the source has them; null otherwise)",
        {C.AGE: "years", C.GENDER: "as the source codes it", C.OCCUPATION: "as the source names it",
         C.ZIP_CODE: "as given"},
    ),
    C.T_REJECTS: Table(
        S.INGEST_REJECTS, "source, line_number, reason", "`recsys ingest` (upsert)",
        "input record that failed validation",
        {C.SOURCE: "file name, or `synthetic/<table>`", C.LINE_NUMBER: "1-based line in the file",
         C.RECORD: "the raw line", C.REASON: "one of " + ", ".join(f"`{r}`" for r in REASONS),
         C.INGESTED_AT: "when the batch was loaded"},
    ),
    C.T_ALS_USER_FACTORS: Table(
        FACTORS, "id", "`recsys train-als` (overwrite)", "user latent vector",
        {C.ID: "user_id",
         C.FEATURES: "the latent vector; explicit runs with biases store `[p, 1, mu + b_u]` "
         "so a dot product with a movie's is the prediction"},
    ),
    C.T_ALS_ITEM_FACTORS: Table(
        FACTORS, "id", "`recsys train-als` (overwrite)", "movie latent vector",
        {C.ID: "movie_id", C.FEATURES: "the latent vector (explicit with biases: `[q, b_m, 1]`)"},
    ),
    C.T_ALS_CANDIDATES: Table(
        CANDIDATES, "user_id, movie_id (user_id, rank)", "`recsys train-als` (overwrite)",
        "ALS top-N candidate (default 100 per user; never a rated movie)",
        {C.SCORE: "ALS preference (explicit: the predicted rating, unclipped)"},
    ),
    C.T_ALS_SEARCH: Table(
        SEARCH, "run_id, params", "`recsys train-als` (append)",
        "grid point of a hyperparameter search",
        {C.DATASET: "the data's label", "mode": "explicit or implicit",
         C.PARAMS: "the searched values (JSON)", "objective": "rmse or ndcg",
         "rmse": "on the validation split", "ndcg": "at k, on the validation split",
         "precision": "at k, on the validation split", "fit_s": "seconds to fit",
         "chosen": "the point the run used"},
    ),
    C.T_MOVIE_NEIGHBORS: Table(
        MOVIE_NEIGHBORS, "movie_id, neighbor_id", "`recsys train-content` (overwrite)",
        "content neighbour (top 20 per movie)",
        {C.SIMILARITY: "cosine of the TF-IDF vectors of genres, tags, title words, decade"},
    ),
    C.T_CONTENT_SCORES: Table(
        CONTENT_SCORES, "user_id, movie_id", "`recsys train-content` (overwrite)",
        "content candidate (top 100 per user)",
        {C.SCORE: "the user's rating-centred profile . the movie's vector"},
    ),
    C.T_ITEM_NEIGHBORS: Table(
        NEIGHBORS_SCHEMA, "movie_id, neighbor_id", "`recsys recommend` (overwrite)",
        "item-kNN neighbour from co-ratings",
        {C.SIMILARITY: "co-rating similarity (see docs/recommend.md)",
         C.SUPPORT: "users who rated both (after capping)"},
    ),
    C.T_RECOMMENDATIONS: Table(
        RECOMMENDATIONS, "user_id, rank (and user_id, movie_id)", "`recsys recommend` (overwrite)",
        "recommended movie in a user's top-N (never a rated movie)",
        {C.SCORE: "the blended score", C.RANK: "1..N per user",
         **{col: f"the {col.removesuffix('_score')} source's per-user normalised score; null "
            "when it did not propose the movie"
            for col in (C.ALS_SCORE, C.CONTENT_SCORE, C.EASE_SCORE, C.ITEMKNN_SCORE,
                        C.USERKNN_SCORE, C.POPULARITY_SCORE)},
         C.BECAUSE_MOVIE_ID: "the rated movie behind the reason (null for cold start)",
         C.REASON: "`because you rated Heat (1995) 5/5`, or `popular in Drama` / `popular with "
         "everyone` for a user without ratings",
         C.HISTORY_BUCKET: "which blend weights applied (by number of ratings)",
         C.GENERATED_AT: "when the run wrote it"},
    ),
    C.T_SIMILAR_MOVIES: Table(
        SIMILAR_MOVIES, "movie_id, similar_movie_id", "`recsys recommend` (overwrite)",
        "blended item-to-item neighbour",
        {C.SIMILAR_MOVIE_ID: "the similar movie", C.SCORE: "blend of the two similarities",
         C.CONTENT_SIMILARITY: "content side (null without a content link)",
         C.CF_SIMILARITY: "co-rating side (null without a co-rating link)"},
    ),
    C.T_METRICS: Table(
        METRICS_SCHEMA, "run_id, model, metric, k",
        "`recsys evaluate`, `recsys train-als` (append)",
        "metric value of one model in one run (long format: pivot on `metric`)",
        {C.DATASET: "the data's label", C.SPLIT: "stratified, random or temporal",
         C.MODEL: "`blend`, `als`, `content`, `most-popular`, `most-popular-rated`, `random`, "
         "`als-implicit`...", C.PARAMS: "the model's settings (JSON)",
         C.METRIC: "`ndcg`, `precision`, `recall`, `map`, `map_rel`, `hit_rate`, `coverage`, "
         "`diversity`, `novelty` (mean popularity rank: higher = less mainstream), `rmse`, "
         "`mae`...", C.K: "the cut-off", C.VALUE: "the metric's value",
         C.CREATED_AT: "when it was written"},
    ),
    T_RUNS: Table(
        RUNS, "run_id", "every job (append)", "job run",
        {C.RUN_ID: "`<job>-<UTC time>-<random>`", "job": "the job's name",
         "params": "the job's config (JSON)",
         "input_versions": "table -> Delta version read", "output_versions":
         "table -> Delta version written", "row_counts": "table -> rows written",
         "status": "`succeeded` or `failed`", "error": "the failure, one line",
         "started_at": "UTC", "finished_at": "UTC", "duration_s": "wall seconds",
         "timings": "seconds per step"},
    ),
}  # fmt: skip

BEGIN, END = "<!-- tables: generated -->", "<!-- /tables: generated -->"


def meaning(table: str, column: str) -> str:
    return TABLES[table].columns.get(column) or COMMON.get(column, "")


def reference() -> str:
    """The generated part of ``docs/tables.md``: the overview and every table's columns."""
    lines = [
        BEGIN,
        "<!-- python -m recsys.jobs.tables rewrites this part from recsys/jobs/tables.py -->",
        "",
        "| table | written by | key | one row per |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{name}` | {t.writer} | `{t.key}` | {t.row} |" for name, t in TABLES.items()]
    for name, t in TABLES.items():
        lines += [
            "",
            f"### `{name}`",
            "",
            "| column | type | null | meaning |",
            "|---|---|---|---|",
        ]
        for f in t.schema.fields:
            kind = f.dataType.simpleString().replace("<", "&lt;").replace(">", "&gt;")
            null = "yes" if f.nullable else "no"
            lines.append(f"| `{f.name}` | {kind} | {null} | {meaning(name, f.name)} |")
    lines.append(END)
    return "\n".join(lines)


def rewrite(page: Path) -> str:
    """``page`` with its generated part replaced by :func:`reference`."""
    text = page.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + reference() + tail


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/tables.md")
    target.write_text(rewrite(target))
