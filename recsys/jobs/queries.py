"""Read-only questions the commands print answers to: one user's recommendations, a movie's
similar movies, a run's metrics. They read the lake, so they live with the jobs."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.blend import cold_start, movie_popularity
from recsys.content import similar_movies
from recsys.display import format_table
from recsys.errors import MissingInputError
from recsys.evaluation import format_metrics
from recsys.jobs._context import JobContext
from recsys.lakehouse import Lake

USER_COLUMNS = (C.RANK, C.MOVIE_ID, C.TITLE, C.SCORE, C.REASON)


def user_recommendations(
    ctx: JobContext, user: int, n: int = 10, genres: Sequence[str] | None = None
) -> tuple[str, list[tuple]]:
    """A header line and up to ``n`` rows (:data:`USER_COLUMNS`): the user's stored
    recommendations, else (no ratings or none stored) popular, well-rated movies, by
    ``genres`` when given."""
    lake = ctx.lake
    for name, job in ((C.T_RATINGS, "ingest"), (C.T_MOVIES, "ingest")):
        if not lake.exists(name):
            raise MissingInputError(f"table {name!r} not found; run `recsys {job}` first")
    movies = lake.read(C.T_MOVIES)
    ratings = lake.read(C.T_RATINGS)
    history = ratings.where(F.col(C.USER_ID) == user)
    n_rated = history.count()  # one user's ratings
    rows = []
    if n_rated and lake.exists(C.T_RECOMMENDATIONS):
        recs = lake.read(C.T_RECOMMENDATIONS).where(F.col(C.USER_ID) == user)
        rows = (
            recs.join(movies.select(C.MOVIE_ID, C.TITLE), C.MOVIE_ID, "left")
            .orderBy(C.RANK)
            .select(C.RANK, C.MOVIE_ID, C.TITLE, F.round(C.SCORE, 3).alias(C.SCORE), C.REASON)
            .limit(n)
            .collect()  # bounded by n
        )
    if rows:
        head = f"user {user}: {n_rated} ratings; top {len(rows)} from the last recommend run"
        if genres:
            head += "\n(--genres only applies to users without ratings)"
        return head, [tuple(r) for r in rows]
    why = "no ratings" if not n_rated else "no stored recommendations"
    wanted = list(genres) if genres else None
    rows = (
        cold_start(movie_popularity(ratings), movies, n=n, genres=wanted, exclude=history)
        .select(C.RANK, C.MOVIE_ID, C.TITLE, F.round(C.SCORE, 3).alias(C.SCORE), C.REASON)
        .collect()  # bounded by n
    )
    return f"user {user}: {why}; popular, well-rated movies", [tuple(r) for r in rows]


def similar(
    ctx: JobContext, title: str | None, k: int = 10, movie_id: int | None = None
) -> tuple[str, list]:
    """The matched movie as ``"<title> (id <id>)"`` and its ``k`` most similar movies."""
    lake = ctx.lake
    match, rows = similar_movies(
        lake.read(C.T_MOVIES), lake.read(C.T_MOVIE_NEIGHBORS), title=title, k=k, movie_id=movie_id
    )
    return f"{match.title} (id {match.movie_id})", rows.collect()  # at most k rows


SHORT_METRICS: tuple[str, ...] = (
    "precision",
    "recall",
    "ndcg",
    "map",
    "coverage",
    "diversity",
    "novelty",
)


def pick_user(recs: DataFrame) -> int | None:
    """The sample user when none is given: the smallest id that has recommendations."""
    row = recs.agg(F.min(C.USER_ID).alias("u")).first()  # one row
    return None if row is None or row["u"] is None else int(row["u"])


def user_report(lake: Lake, user: int | None = None, run_id: str | None = None, n: int = 10) -> str:
    """A user's top-``n`` with titles and reasons, after a line about their history.

    ``run_id`` selects one run's rows when ``recommendations`` keeps several; default: the
    newest run in the table.
    """
    recs = lake.read(C.T_RECOMMENDATIONS)
    if C.RUN_ID in recs.columns:
        if run_id is None:
            row = recs.agg(F.max(C.RUN_ID).alias("r")).first()  # one row
            run_id = row["r"] if row else None
        if run_id is not None:
            recs = recs.where(F.col(C.RUN_ID) == run_id)
    if user is None:
        user = pick_user(recs)
        if user is None:
            return "recommendations is empty: no user to show"
    titles = lake.read(C.T_MOVIES).select(C.MOVIE_ID, C.TITLE)
    mine = recs.where(F.col(C.USER_ID) == user)
    cols = [c for c in (C.RANK, C.TITLE, C.SCORE, C.REASON) if c in mine.columns or c == C.TITLE]
    top = mine.join(titles, C.MOVIE_ID, "left").orderBy(C.RANK).select(*cols).limit(n).collect()
    rated = lake.read(C.T_RATINGS).where(F.col(C.USER_ID) == user)
    stats = rated.agg(F.count(F.lit(1)).alias("n"), F.avg(C.RATING).alias("mean")).first()
    favourites = (
        rated.join(titles, C.MOVIE_ID, "left")
        .orderBy(F.col(C.RATING).desc(), F.col(C.RATED_AT).desc(), C.MOVIE_ID)
        .select(C.TITLE, C.RATING)
        .limit(3)
        .collect()
    )
    if stats["n"]:
        liked = "; ".join(f"{r[C.TITLE]} {r[C.RATING]:g}/5" for r in favourites)
        head = f"user {user} rated {stats['n']} movies (mean {stats['mean']:.2f}), e.g. {liked}"
    else:
        head = f"user {user} has no ratings (cold start)"
    if not top:
        return f"{head}\nno recommendations for user {user}"
    body = format_table(cols, [tuple(r) for r in top], max_width=70, float_digits=3)
    return f"{head}\ntop {len(top)} recommendations (run {run_id}):\n{body}"


def metrics_report(lake: Lake, run_id: str | None, names: Sequence[str] = SHORT_METRICS) -> str:
    """The evaluation run's metrics, one line per model (best nDCG first)."""
    if not lake.exists(C.T_METRICS):
        return "no metrics table (the evaluate stage did not run)"
    metrics = lake.read(C.T_METRICS)
    if run_id is None:
        row = metrics.agg(F.max(C.RUN_ID).alias("r")).first()  # one row
        run_id = row["r"] if row else None
    rows = (
        metrics.where(
            (F.col(C.RUN_ID) == run_id) & F.col(C.METRIC).isin(list(names))
        ).collect()  # a few rows per model
    )
    if not rows:
        return f"no metrics for run {run_id}"
    ndcg = {r[C.MODEL]: r[C.VALUE] for r in rows if r[C.METRIC] == "ndcg"}
    rows.sort(key=lambda r: (-(ndcg.get(r[C.MODEL]) or 0.0), r[C.MODEL]))
    return format_metrics(rows)
