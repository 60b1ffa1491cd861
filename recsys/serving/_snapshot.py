"""One consistent view of the lake for serving: the tables' latest versions read with
``deltalake`` into compact numpy indexes (sorted ids + CSR offsets), built off the request path
and swapped in whole when a job commits a new version.

Sizes: movies, factors and neighbour tables are model-sized; the ratings (for fold-in
histories, exclusion and reasons) are the one ratings-sized part, 16 bytes per rating.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recsys import columns as C
from recsys.als import ALSConfig, gram
from recsys.blend import GenreBits, RecommendConfig
from recsys.config import updated
from recsys.lakehouse import ArrowLake
from recsys.neighbors import neighbor_model
from recsys.runs import T_RUNS
from recsys.vectorised import lookup

FEEDBACK = C.T_FEEDBACK
"""The table ``POST /users/{id}/ratings`` appends to (ratings' columns)."""

WATCHED = (
    C.T_MOVIES,
    C.T_RATINGS,
    C.T_RECOMMENDATIONS,
    C.T_SIMILAR_MOVIES,
    C.T_ALS_ITEM_FACTORS,
    C.T_ITEM_NEIGHBORS,
    C.T_MOVIE_NEIGHBORS,
)
"""Tables whose new version makes the server load a new snapshot (``feedback`` is the
server's own: it keeps its appends in memory as it commits them)."""


def _ints(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy().astype(np.int64)


def _floats(table: pa.Table, name: str) -> np.ndarray:
    return pc.fill_null(table.column(name).cast(pa.float64()), np.nan).to_numpy()


def _micros(table: pa.Table) -> np.ndarray:
    """``rated_at`` as microseconds since the epoch (null: the smallest int64)."""
    at = table.column(C.RATED_AT).cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    return pc.fill_null(at, np.iinfo(np.int64).min).to_numpy()


@dataclass(frozen=True)
class Catalogue:
    ids: np.ndarray
    """Sorted movie ids."""
    titles: np.ndarray
    years: list[int | None]
    genres: list[list[str]]
    lower: list[str]
    """Lower-cased titles, for search."""
    bits: GenreBits

    @classmethod
    def of(cls, movies: pa.Table) -> Catalogue:
        order = np.argsort(_ints(movies, C.MOVIE_ID), kind="stable")
        movies = movies.take(order)
        titles = np.array(movies.column(C.TITLE).to_pylist(), dtype=object)
        genres = [list(g or []) for g in movies.column(C.GENRES).to_pylist()]
        ids = _ints(movies, C.MOVIE_ID)
        frame = movies.select([C.MOVIE_ID, C.GENRES]).to_pandas()
        return cls(
            ids=ids,
            titles=titles,
            years=movies.column(C.YEAR).to_pylist(),
            genres=genres,
            lower=[t.lower() for t in titles],
            bits=GenreBits.build(frame),
        )

    def position(self, movie_id: int) -> int | None:
        pos, known = lookup(self.ids, np.array([movie_id], np.int64))
        return int(pos[0]) if known[0] else None

    def movie(self, pos: int) -> dict[str, Any]:
        return {
            C.MOVIE_ID: int(self.ids[pos]),
            C.TITLE: str(self.titles[pos]),
            C.YEAR: self.years[pos],
            C.GENRES: self.genres[pos],
        }


@dataclass(frozen=True)
class History:
    """Ratings by user (CSR): the batch ``ratings`` with the ``feedback`` rows on top (a
    feedback row replaces the user's earlier rating of the same movie)."""

    user_ids: np.ndarray
    indptr: np.ndarray
    movies: np.ndarray
    ratings: np.ndarray

    @classmethod
    def of(cls, users: np.ndarray, movies: np.ndarray, ratings: np.ndarray) -> History:
        """The last row of each (user, movie) wins (callers pass rows oldest first)."""
        key = (users << 32) | movies
        order = np.argsort(key, kind="stable")
        key = key[order]
        last = np.r_[key[1:] != key[:-1], True]
        keep = order[last]
        users, movies, ratings = users[keep], movies[keep], ratings[keep]
        ids, starts = np.unique(users, return_index=True)
        return cls(ids, np.r_[starts, len(users)], movies, ratings.astype(np.float64))

    def of_user(self, user_id: int) -> tuple[np.ndarray, np.ndarray]:
        pos, known = lookup(self.user_ids, np.array([user_id], np.int64))
        if not known[0]:
            return np.empty(0, np.int64), np.empty(0)
        lo, hi = self.indptr[pos[0]], self.indptr[pos[0] + 1]
        return self.movies[lo:hi], self.ratings[lo:hi]


@dataclass(frozen=True)
class Grouped:
    """A table's rows grouped by one key column (``recommendations`` by user,
    ``similar_movies`` by movie), each group in rank order; rows become Python values only
    when a request asks for them."""

    ids: np.ndarray
    indptr: np.ndarray
    table: pa.Table

    @classmethod
    def of(cls, table: pa.Table, key: str) -> Grouped:
        order = np.lexsort((_ints(table, C.RANK), _ints(table, key)))
        table = table.take(order).combine_chunks()
        ids, starts = np.unique(_ints(table, key), return_index=True)
        return cls(ids, np.r_[starts, table.num_rows], table)

    def size(self, key: int) -> int:
        pos, known = lookup(self.ids, np.array([key], np.int64))
        return int(self.indptr[pos[0] + 1] - self.indptr[pos[0]]) if known[0] else 0

    def rows(self, key: int) -> list[dict[str, Any]]:
        pos, known = lookup(self.ids, np.array([key], np.int64))
        if not known[0]:
            return []
        lo, hi = int(self.indptr[pos[0]]), int(self.indptr[pos[0] + 1])
        return self.table.slice(lo, hi - lo).to_pylist()


@dataclass(frozen=True)
class AlsModel:
    ids: np.ndarray
    """Sorted movie ids with factors."""
    items: np.ndarray
    """Factors in ``ids`` order (float64)."""
    gram: np.ndarray
    config: ALSConfig
    mu: float
    """Mean training rating (explicit runs with biases need it)."""
    run_id: str
    candidates: int
    """Candidates per user the batch ALS source has (train-als ``top_n``): each source is
    normalised over its own list, so a fold-in takes as many."""


@dataclass(frozen=True)
class Snapshot:
    versions: dict[str, int | None]
    catalogue: Catalogue
    history: History
    scale: tuple[float, float]
    """Lowest and highest rating in ``ratings`` (what a posted rating must lie in)."""
    counts: np.ndarray
    """Ratings per movie, in catalogue order."""
    damped: np.ndarray
    """Damped mean rating per movie, in catalogue order (cold start's "well-rated")."""
    recommendations: Grouped | None
    similar: Grouped | None
    als: AlsModel | None
    itemknn: Any
    content: Any
    recommend: RecommendConfig
    pending: np.ndarray
    """Sorted ids of users with posted ratings their batch list has not seen (fold-in)."""
    content_candidates: int = 100
    """Candidates per user of the batch content source (train-content ``n``)."""
    run_ids: dict[str, str] = field(default_factory=dict)
    """The job runs that wrote the served tables, by table."""

    @property
    def sources(self) -> tuple[str, ...]:
        """The candidate sources a fold-in can compute (EASE and user-kNN need the whole
        rating matrix and wait for the next batch run)."""
        names = [n for n, m in (("als", self.als), ("itemknn", self.itemknn),
                                ("content", self.content)) if m is not None]  # fmt: skip
        return (*names, "popularity")


def _run_params(runs: pa.Table | None, run_id: str | None) -> dict[str, Any]:
    if runs is None or run_id is None:
        return {}
    mine = runs.filter(pc.equal(runs.column(C.RUN_ID), run_id))
    if not mine.num_rows or mine.column(C.PARAMS)[0].as_py() is None:
        return {}
    return json.loads(mine.column(C.PARAMS)[0].as_py())


def _latest_params(runs: pa.Table | None, job: str) -> dict[str, Any]:
    """The params of ``job``'s latest successful run."""
    if runs is None:
        return {}
    mine = runs.filter(pc.and_(pc.equal(runs.column("job"), job),
                               pc.equal(runs.column("status"), "succeeded")))  # fmt: skip
    if not mine.num_rows:
        return {}
    latest = mine.take(pc.sort_indices(mine, [("started_at", "descending")]))
    return _run_params(latest, latest.column(C.RUN_ID)[0].as_py())


def _first_run_id(table: pa.Table) -> str | None:
    return table.column(C.RUN_ID)[0].as_py() if table.num_rows else None


def _als_config(params: dict[str, Any]) -> ALSConfig:
    known = {f.name for f in fields(ALSConfig)}
    values = {k: v for k, v in params.items() if k in known}
    values.update(params.get("chosen") or {})
    return ALSConfig.from_dict(values)


def _recommend_config(params: dict[str, Any]) -> RecommendConfig:
    known = {f.name for f in fields(RecommendConfig)}
    return updated(RecommendConfig(), {k: v for k, v in params.items() if k in known}, "recs")


def load(lake: ArrowLake, prior_weight: float = 10.0) -> Snapshot:
    """Read every served table's latest version; fails (``LakeError``/``KeyError``) when
    ``movies`` or ``ratings`` is missing: there is nothing to serve before an ingest."""
    versions: dict[str, int | None] = {}

    def read(name: str, columns: list[str] | None = None) -> pa.Table | None:
        got = lake.read(name, columns)
        versions[name] = None if got is None else got[1]
        return None if got is None else got[0]

    movies = read(C.T_MOVIES, [C.MOVIE_ID, C.TITLE, C.YEAR, C.GENRES])
    ratings = read(C.T_RATINGS, [C.USER_ID, C.MOVIE_ID, C.RATING, C.RATED_AT])
    if movies is None or ratings is None:
        raise FileNotFoundError(
            f"{lake.root}: no movies/ratings tables to serve; run `recsys pipeline` (or "
            "`recsys ingest`) on this lake first"
        )
    feedback = read(FEEDBACK, [C.USER_ID, C.MOVIE_ID, C.RATING, C.RATED_AT])
    runs = read(T_RUNS, [C.RUN_ID, "job", "status", "started_at", C.PARAMS])
    catalogue = Catalogue.of(movies)

    users, items, values = (_ints(ratings, C.USER_ID), _ints(ratings, C.MOVIE_ID),
                            _floats(ratings, C.RATING))  # fmt: skip
    scale = (float(values.min()), float(values.max())) if len(values) else (0.5, 5.0)
    pos, known = lookup(catalogue.ids, items)
    counts = np.bincount(pos[known], minlength=len(catalogue.ids)).astype(np.int64)
    sums = np.bincount(pos[known], weights=values[known], minlength=len(catalogue.ids))
    mu = float(values.mean()) if len(values) else 0.0
    damped = (sums + prior_weight * mu) / (counts + prior_weight)
    rated_keys = (users << 32) | items
    if feedback is not None and feedback.num_rows:
        # oldest first (Delta keeps no row order), so a user's latest rating of a movie wins
        feedback = feedback.take(pc.sort_indices(feedback, [(C.RATED_AT, "ascending")]))
        users = np.r_[users, _ints(feedback, C.USER_ID)]
        items = np.r_[items, _ints(feedback, C.MOVIE_ID)]
        values = np.r_[values, _floats(feedback, C.RATING)]
    history = History.of(users, items, values)

    recs = read(C.T_RECOMMENDATIONS)
    run_ids: dict[str, str] = {}
    recommend = RecommendConfig()
    pending = np.empty(0, np.int64)
    if recs is not None and recs.num_rows:
        run_ids[C.T_RECOMMENDATIONS] = str(_first_run_id(recs))
        recommend = _recommend_config(_run_params(runs, _first_run_id(recs)))
    if feedback is not None and feedback.num_rows:
        # a posted rating the batch list has not seen: not yet in ratings (no ingest since),
        # or newer than the list; its user is served by fold-in
        f_users, f_at = _ints(feedback, C.USER_ID), _micros(feedback)
        order = np.argsort(rated_keys, kind="stable")
        pos, found = lookup(rated_keys[order], (f_users << 32) | _ints(feedback, C.MOVIE_ID))
        stale = ~(found & (_micros(ratings)[order][pos] >= f_at))
        if recs is not None and recs.num_rows:
            made = pc.max(recs.column(C.GENERATED_AT)).cast(pa.timestamp("us", tz="UTC"))
            stale |= f_at > made.cast(pa.int64()).as_py()
        pending = np.unique(f_users[stale])
    similar = read(C.T_SIMILAR_MOVIES)

    factors = read(C.T_ALS_ITEM_FACTORS)
    als = None
    if factors is not None and factors.num_rows:
        run_id = str(_first_run_id(factors))
        ids = _ints(factors, C.ID)
        order = np.argsort(ids)
        matrix = np.array(factors.column(C.FEATURES).to_pylist(), np.float64)[order]
        params = _run_params(runs, run_id)
        als = AlsModel(ids[order], matrix, gram(matrix), _als_config(params), mu, run_id,
                       int(params.get("top_n") or recommend.candidates))  # fmt: skip
        run_ids[C.T_ALS_ITEM_FACTORS] = run_id

    neighbors = read(C.T_ITEM_NEIGHBORS, [C.MOVIE_ID, C.NEIGHBOR_ID, C.SIMILARITY])
    itemknn = None
    if neighbors is not None and neighbors.num_rows:
        itemknn = neighbor_model(
            _ints(neighbors, C.MOVIE_ID), _ints(neighbors, C.NEIGHBOR_ID),
            _floats(neighbors, C.SIMILARITY), (catalogue.ids, counts),
            recommend.item_knn.candidate_pop,
        )  # fmt: skip
    content_edges = read(C.T_MOVIE_NEIGHBORS, [C.MOVIE_ID, C.NEIGHBOR_ID, C.SIMILARITY])
    content = None
    if content_edges is not None and content_edges.num_rows:
        src, dst = _ints(content_edges, C.MOVIE_ID), _ints(content_edges, C.NEIGHBOR_ID)
        sim = _floats(content_edges, C.SIMILARITY)
        # both directions, each ordered pair once with its larger similarity (neighbor_edges)
        a, b, w = np.r_[src, dst], np.r_[dst, src], np.r_[sim, sim]
        order = np.lexsort((-w, b, a))
        a, b, w = a[order], b[order], w[order]
        first = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]
        content = neighbor_model(a[first], b[first], w[first])
    return Snapshot(
        versions=versions,
        catalogue=catalogue,
        history=history,
        scale=scale,
        counts=counts,
        damped=damped,
        recommendations=None if recs is None else Grouped.of(recs, C.USER_ID),
        similar=None if similar is None else Grouped.of(similar, C.MOVIE_ID),
        als=als,
        itemknn=itemknn,
        content=content,
        recommend=recommend,
        pending=pending,
        content_candidates=int(_latest_params(runs, "train_content").get("n") or 100),
        run_ids=run_ids,
    )
