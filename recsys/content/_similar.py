"""``similar_movies``: find a movie by (fuzzy) title and list its content neighbours.

Matching runs in Spark over the catalogue and only the few matching titles reach the driver.
Titles are compared after normalisation: lower-case, the ``(1995)`` year removed, a trailing
article moved to the front (``Matrix, The`` -> ``the matrix``), punctuation dropped. Tiers, the
first one with a match wins:

1. the full title, case-insensitive (``Heat (1995)``);
2. the normalised title (``the matrix``, ``MATRIX, THE``);
3. titles containing the query as whole words (``Star Wars`` -> several: ambiguous);
4. fuzzy: Levenshtein distance at most a third of the query's length (``Incepton``).

When the winning tier holds several movies, :class:`AmbiguousTitleError` lists them so the user
can add the year or pass the movie id; no match at all raises :class:`TitleNotFoundError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.content._documents import TITLE_YEAR
from recsys.errors import RecsysError

MAX_CANDIDATES = 10
_NORM, _TIER, _DIST = "_norm", "_tier", "_dist"
_ARTICLES = r"(the|a|an|les|la|le|l'|il|das|der|die|el|los|las|det|den)"


class TitleNotFoundError(RecsysError):
    """No movie title matches the query."""


class AmbiguousTitleError(RecsysError):
    """Several movies match equally well; the message lists them."""

    def __init__(self, query: str, candidates: list[tuple[int, str]]):
        self.candidates = candidates
        listed = "; ".join(f"{title} (id {movie_id})" for movie_id, title in candidates)
        super().__init__(
            f"{query!r} matches {len(candidates)} movies: {listed}; "
            "add the year, e.g. 'Heat (1995)', or pass --id"
        )


def normalise_title(col: Column) -> Column:
    """``The Matrix``, ``Matrix, The (1999)`` and ``matrix, the`` all become ``the matrix``."""
    text = F.lower(F.trim(F.regexp_replace(col, TITLE_YEAR, "")))
    text = F.regexp_replace(text, rf"^(.*),\s*{_ARTICLES}$", "$2 $1")
    text = F.regexp_replace(text, r"['’`]", "")
    text = F.regexp_replace(text, r"[^\p{L}\p{N}]+", " ")
    return F.trim(text)


def _normalise_query(query: str, movies: DataFrame) -> str:
    row = movies.sparkSession.range(1).select(normalise_title(F.lit(query)).alias(_NORM)).first()
    assert row is not None
    return str(row[_NORM])


@dataclass(frozen=True)
class Match:
    movie_id: int
    title: str


def find_title(movies: DataFrame, query: str) -> Match:
    """The one movie ``query`` names (see the module docstring for the matching rules)."""
    if not query.strip():
        raise TitleNotFoundError("empty title: pass a movie title such as 'Inception'")
    norm_query = _normalise_query(query, movies)
    if not norm_query:
        raise TitleNotFoundError(f"{query!r} has no letters or digits to match a title on")
    norm = normalise_title(F.col(C.TITLE))
    max_dist = max(1, len(norm_query) // 3)
    dist = F.levenshtein(F.col(_NORM), F.lit(norm_query))
    tier = (
        F.when(F.lower(F.trim(F.col(C.TITLE))) == query.strip().lower(), 1)
        .when(F.col(_NORM) == norm_query, 2)
        .when(F.concat(F.lit(" "), F.col(_NORM), F.lit(" ")).contains(f" {norm_query} "), 3)
        .when(dist <= max_dist, 4)
    )
    matches = (
        movies.select(C.MOVIE_ID, C.TITLE, norm.alias(_NORM))
        .withColumn(_DIST, dist)
        .withColumn(_TIER, tier)
        .where(F.col(_TIER).isNotNull())
    )
    best = matches.agg(F.min(_TIER)).first()
    if best is None or best[0] is None:
        raise TitleNotFoundError(
            f"no movie title matches {query!r}; check the spelling or list titles with "
            "`recsys sql \"SELECT title FROM movies WHERE title LIKE '%...%'\"`"
        )
    top = (
        matches.where(F.col(_TIER) == best[0])
        .orderBy(_DIST, C.TITLE, C.MOVIE_ID)
        .limit(MAX_CANDIDATES + 1)
        .collect()  # at most MAX_CANDIDATES + 1 titles
    )
    if best[0] == 4:
        # fuzzy: only the closest spellings compete
        top = [r for r in top if r[_DIST] == top[0][_DIST]]
    if len(top) > 1:
        raise AmbiguousTitleError(query, [(r[C.MOVIE_ID], r[C.TITLE]) for r in top])
    return Match(int(top[0][C.MOVIE_ID]), str(top[0][C.TITLE]))


def similar_movies(
    movies: DataFrame,
    neighbors: DataFrame,
    title: str | None = None,
    k: int = 10,
    movie_id: int | None = None,
) -> tuple[Match, DataFrame]:
    """The matched movie and its top-``k`` neighbours: (rank, neighbor_id, neighbor_title,
    similarity), ordered by rank. Pass ``movie_id`` instead of ``title`` to skip matching."""
    if movie_id is not None:
        row = movies.where(F.col(C.MOVIE_ID) == movie_id).select(C.TITLE).first()
        if row is None:
            raise TitleNotFoundError(f"no movie with id {movie_id}")
        match = Match(movie_id, str(row[C.TITLE]))
    elif title is not None:
        match = find_title(movies, title)
    else:
        raise TitleNotFoundError("pass a title or a movie id")
    titles = movies.select(
        F.col(C.MOVIE_ID).alias(C.NEIGHBOR_ID), F.col(C.TITLE).alias(C.NEIGHBOR_TITLE)
    ).dropDuplicates([C.NEIGHBOR_ID])
    result = (
        neighbors.where((F.col(C.MOVIE_ID) == match.movie_id) & (F.col(C.RANK) <= k))
        .join(titles, C.NEIGHBOR_ID, "left")
        .select(C.RANK, C.NEIGHBOR_ID, C.NEIGHBOR_TITLE, C.SIMILARITY)
        .orderBy(C.RANK)
    )
    return match, result
