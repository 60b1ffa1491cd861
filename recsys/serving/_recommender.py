"""Answers from one snapshot: the batch list, a fold-in for a user whose ratings changed, and
the cold-start list, each as the API's items.

A fold-in recomputes the user's list with the batch job's own code on one user: the ALS vector
solved from the stored movie factors (:func:`recsys.als.fold_in`), item-kNN and content scored
from the stored neighbour tables (:func:`recsys.neighbors.score_history`, as the batch scores
each user), popularity, then the blend with the recommend run's weights and normalisation
(:func:`recsys.blend.blend_user`) and its reasons (:func:`recsys.blend.explain_user`). EASE and
user-kNN need the whole rating matrix; their weights count 0 until the next batch run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from recsys import columns as C
from recsys.als import fold_in
from recsys.blend import (
    SCORE_COLUMNS,
    because_sentence,
    blend_user,
    explain_user,
    popular_sentence,
)
from recsys.neighbors import score_history
from recsys.serving._snapshot import Snapshot
from recsys.vectorised import lookup, top_positions

Item = dict[str, Any]
Columns = dict[str, np.ndarray]


def _wanted(genres: Sequence[str]) -> set[str]:
    """A request's genres, lower-cased, blanks dropped."""
    return {g.strip().lower() for g in genres if g.strip()}


class Recommender:
    def __init__(self, snap: Snapshot, min_count: int = 20):
        self.snap = snap
        cat = snap.catalogue
        self.popular = np.lexsort((cat.ids, -snap.counts))
        """Catalogue positions, most-rated first (the popularity source)."""
        well_rated = np.lexsort((cat.ids, -snap.counts, -snap.damped))
        self.well_rated = well_rated[snap.counts[well_rated] >= min_count]
        """Catalogue positions with ``min_count`` ratings, best damped mean first."""
        self.by_genre: dict[str, np.ndarray] = {}
        """Lower-cased genre -> which catalogue positions have it (built once, not per request)."""
        for pos, names in enumerate(cat.genres):
            for g in names:
                self.by_genre.setdefault(g.lower(), np.zeros(len(cat.ids), bool))[pos] = True

    # ---- items ------------------------------------------------------------------------------
    def _item(
        self,
        movie_id: int,
        rank: int,
        score: float,
        reason: str,
        because: int | None = None,
        scores: dict[str, float] | None = None,
    ) -> Item:
        pos = self.snap.catalogue.position(movie_id)
        movie = self.snap.catalogue.movie(pos) if pos is not None else {C.MOVIE_ID: movie_id}
        return {
            C.RANK: rank,
            **movie,
            C.SCORE: round(float(score), 6),
            "scores": scores or {},
            C.BECAUSE_MOVIE_ID: because,
            C.REASON: reason,
        }

    def batch_item(self, row: dict[str, Any]) -> Item:
        scores = {s: round(row[c], 6) for s, c in SCORE_COLUMNS.items() if row.get(c) is not None}
        return self._item(
            row[C.MOVIE_ID],
            row[C.RANK],
            row[C.SCORE],
            row[C.REASON],
            row[C.BECAUSE_MOVIE_ID],
            scores,
        )

    def genre_mask(self, genres: Sequence[str]) -> np.ndarray | None:
        """Catalogue positions having one of ``genres`` (case-insensitive); None = all."""
        wanted = _wanted(genres)
        if not wanted:
            return None
        none = np.zeros(len(self.snap.catalogue.ids), bool)
        return np.logical_or.reduce([self.by_genre.get(g, none) for g in wanted])

    def has_genre(self, movie_id: int, genres: Sequence[str]) -> bool:
        pos = self.snap.catalogue.position(movie_id)
        wanted = _wanted(genres)
        return pos is not None and any(g.lower() in wanted for g in self.snap.catalogue.genres[pos])

    # ---- cold start -------------------------------------------------------------------------
    def cold_start(
        self, n: int, genres: Sequence[str] = (), exclude: Sequence[int] = ()
    ) -> list[Item]:
        """Popular, well-rated movies (as :func:`recsys.blend.cold_start`)."""
        cat = self.snap.catalogue
        order = self.well_rated
        mask = self.genre_mask(genres)
        if mask is not None:
            order = order[mask[order]]
        if len(exclude):
            order = order[~np.isin(cat.ids[order], np.asarray(exclude, np.int64))]
        wanted = _wanted(genres)
        items = []
        for rank, pos in enumerate(order[:n], start=1):
            mine = cat.genres[pos]
            match = [g for g in mine if g.lower() in wanted] if wanted else mine
            reason = popular_sentence(match[0] if match else None)
            items.append(self._item(int(cat.ids[pos]), rank, self.snap.damped[pos], reason))
        return items

    # ---- fold-in ----------------------------------------------------------------------------
    # Each source returns its candidates as arrays (``movie_id, score[, because_movie_id]``),
    # None when the lake has no such model.
    def _als(
        self, movies: np.ndarray, ratings: np.ndarray, k: int, mask: np.ndarray | None
    ) -> Columns | None:
        als = self.snap.als
        if als is None:
            return None
        pos, known = lookup(als.ids, movies)
        vector = fold_in(als.items, pos[known], ratings[known], als.config, als.gram, als.mu)
        if vector is None:
            return None
        scores = als.items @ vector
        scores[pos[known]] = -np.inf  # rated movies are never candidates
        if mask is not None:
            at, inside = lookup(self.snap.catalogue.ids, als.ids)
            scores[~(inside & mask[at])] = -np.inf
        top = top_positions(scores, als.ids, k)
        top = top[np.isfinite(scores[top])]
        return {C.MOVIE_ID: als.ids[top], C.SCORE: scores[top]}

    def _neighbors(
        self,
        model: Any,
        movies: np.ndarray,
        weights: np.ndarray,
        k: int,
        mask: np.ndarray | None,
        normalize: bool = False,
    ) -> Columns | None:
        if model is None:
            return None
        found = score_history(
            model,
            movies,
            weights,
            k if mask is None else k * 20,
            normalize=normalize,
            positive=normalize,
        )
        if mask is not None:
            at, inside = lookup(self.snap.catalogue.ids, found[C.MOVIE_ID].astype(np.int64))
            keep = np.flatnonzero(inside & mask[at])[:k]
            found = {c: v[keep] for c, v in found.items()}
        return found

    def _popularity(self, movies: np.ndarray, k: int, mask: np.ndarray | None) -> Columns:
        cat = self.snap.catalogue
        order = self.popular if mask is None else self.popular[mask[self.popular]]
        order = order[: 3 * k]  # as FittedPopularity: the 3k most-rated, minus the rated ones
        order = order[~np.isin(cat.ids[order], movies)][:k]
        return {C.MOVIE_ID: cat.ids[order], C.SCORE: self.snap.counts[order] * 1.0}

    def fold_in(
        self, movies: np.ndarray, ratings: np.ndarray, n: int, genres: Sequence[str] = ()
    ) -> tuple[list[Item], str | None]:
        """The top ``n`` for a user whose history is ``movies`` rated ``ratings`` (and its
        history bucket); an empty history gets the cold-start list. Arrays from end to end:
        a POST waits for this, and frames for a few hundred rows would cost most of it."""
        if not len(movies):
            return self.cold_start(n, genres), None
        params = self.snap.recommend
        k = max(params.candidates, n)
        mask = self.genre_mask(genres)
        spread = ratings.max() - ratings.min()
        centred = ratings - ratings.mean() if spread > 0 else np.ones_like(ratings)
        # each source takes as many candidates as its batch list has (normalised over them)
        als_k = max(self.snap.als.candidates, n) if self.snap.als is not None else k
        content_k = max(self.snap.content_candidates, n)
        sources = {
            "als": self._als(movies, ratings, als_k, mask),
            "itemknn": self._neighbors(self.snap.itemknn, movies, np.ones(len(movies)), k, mask),
            "content": self._neighbors(self.snap.content, movies, centred, content_k, mask, True),
            "popularity": self._popularity(movies, k, mask),
        }
        found = {s: c for s, c in sources.items() if c is not None and len(c[C.MOVIE_ID])}
        blended = blend_user(movies, found, params.weights, n, params.normalization)
        if not len(blended[C.MOVIE_ID]):
            return self.cold_start(n, genres, exclude=movies), None
        picked = blended[C.MOVIE_ID].astype(np.int64)
        because, rating = explain_user(
            picked, blended[C.BECAUSE_MOVIE_ID], movies, ratings, self.snap.catalogue.bits
        )
        cat = self.snap.catalogue
        scores = [(s, blended[c]) for s, c in SCORE_COLUMNS.items()]
        items = []
        for i, movie in enumerate(picked.tolist()):
            if np.isnan(because[i]) or np.isnan(rating[i]):
                pos = cat.position(movie)
                genre = cat.genres[pos][:1] if pos is not None else []
                reason, why = popular_sentence(genre[0] if genre else None), None
            else:
                why = int(because[i])
                pos = cat.position(why)
                title = cat.titles[pos] if pos is not None else f"movie {why}"
                reason = because_sentence(str(title), float(rating[i]))
            mine = {s: round(float(v[i]), 6) for s, v in scores if not np.isnan(v[i])}
            rank = int(blended[C.RANK][i])
            items.append(self._item(movie, rank, blended[C.SCORE][i], reason, why, mine))
        return items, str(blended[C.HISTORY_BUCKET][0])
