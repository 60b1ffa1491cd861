"""What the API serves at one moment: a snapshot, the ratings posted since it was read, and
cached answers. A reload builds a new :class:`Served` off the request path and swaps it in
with one assignment, so every request sees one consistent state and none is dropped."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recsys import columns as C
from recsys.serving._recommender import Item, Recommender
from recsys.serving._snapshot import FEEDBACK, Snapshot
from recsys.vectorised import lookup

DEFAULT_N = 10
MAX_CACHED = 50_000
"""Default answers kept encoded (about 2 KB each)."""


@dataclass
class Served:
    snap: Snapshot
    recommender: Recommender
    live: dict[int, list[tuple[int, float, int]]] = field(default_factory=dict)
    """Per user, ratings posted since the snapshot was read: (movie, rating, feedback version)."""
    rendered: dict[int, bytes] = field(default_factory=dict)
    """Encoded default answers (``n`` = 10, no genre filter) by user, oldest first."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    """Guards changes to ``live`` and ``rendered`` (reads are single dict lookups)."""

    @classmethod
    def of(cls, snap: Snapshot, min_count: int, previous: Served | None = None) -> Served:
        """A state for ``snap``, keeping the posted ratings ``snap`` has not read yet."""
        served = cls(snap, Recommender(snap, min_count))
        if previous is not None:
            seen = snap.versions.get(FEEDBACK)
            for user, rows in previous.live.items():
                newer = [r for r in rows if seen is None or r[2] > seen]
                if newer:
                    served.live[user] = newer
        return served

    def history(
        self, user_id: int, extra: Sequence[tuple[int, float]] = ()
    ) -> tuple[np.ndarray, np.ndarray]:
        """The user's ratings: the snapshot's, then those posted since, then ``extra`` (a
        request's own, before they are committed); a later rating of a movie wins."""
        movies, ratings = self.snap.history.of_user(user_id)
        posted = [(m, r) for m, r, _ in self.live.get(user_id, ())] + list(extra)
        if not posted:
            return movies, ratings
        new = dict(posted)
        keep = ~np.isin(movies, np.fromiter(new, np.int64, len(new)))
        return (
            np.r_[movies[keep], np.fromiter(new, np.int64, len(new))],
            np.r_[ratings[keep], np.fromiter(new.values(), np.float64, len(new))],
        )

    def _pending(self, user_id: int) -> bool:
        if self.live.get(user_id):
            return True
        _, known = lookup(self.snap.pending, np.array([user_id], np.int64))
        return bool(known[0])

    def recommendations(
        self,
        user_id: int,
        n: int,
        genres: Sequence[str],
        extra: Sequence[tuple[int, float]] = (),
    ) -> dict[str, Any]:
        """The answer of ``GET /users/{id}/recommendations``: the batch list, unless the user
        rated something since (fold-in) or has no list (fold-in from their history, else cold
        start). A genre filter or an ``n`` beyond the batch list is filled by a fold-in.
        ``extra``: ratings the caller is committing (its fold-in runs during the commit)."""
        rec = self.recommender
        batch = self.snap.recommendations
        pending = bool(extra) or self._pending(user_id)
        rows = [] if batch is None or pending else batch.rows(user_id)
        movies, ratings = self.history(user_id, extra)
        bucket = rows[0][C.HISTORY_BUCKET] if rows else None
        items: list[Item] = []
        kind = "batch"
        if rows:
            wanted = [r for r in rows if not genres or rec.has_genre(r[C.MOVIE_ID], genres)]
            items = [rec.batch_item(r) for r in wanted[:n]]
        if len(items) < n and len(movies):
            folded, bucket = rec.fold_in(movies, ratings, n, genres)
            listed = {i[C.MOVIE_ID] for i in items}
            items += [i for i in folded if i[C.MOVIE_ID] not in listed][: n - len(items)]
            kind = "batch+fold-in" if rows else "fold-in"
        elif not len(movies) and not rows:
            items, kind = rec.cold_start(n, genres), "cold-start"
        for rank, item in enumerate(items, start=1):  # after a filter or a top-up: 1..n
            item[C.RANK] = rank
        run_id = self.snap.run_ids.get(C.T_RECOMMENDATIONS)
        return {
            C.USER_ID: user_id,
            "kind": kind,
            C.HISTORY_BUCKET: bucket,
            "history_size": len(movies),
            C.RUN_ID: run_id if kind.startswith("batch") else None,
            "items": items,
        }

    def cheap(self, user_id: int, n: int, genres: Sequence[str]) -> bool:
        """Whether the answer needs no fold-in: the stored batch list (``n`` of its rows, no
        genre filter) or the cold-start list, a fraction of a millisecond to build, so the
        event loop builds it itself instead of handing it to a thread."""
        if self._pending(user_id):
            return False
        batch = self.snap.recommendations
        if not genres and batch is not None and batch.size(user_id) >= n:
            return True
        return not len(self.snap.history.of_user(user_id)[0])

    def cached(self, user_id: int, n: int, genres: Sequence[str]) -> bytes | None:
        """The encoded default answer when it was computed before (the hot path: no work)."""
        return self.rendered.get(user_id) if n == DEFAULT_N and not genres else None

    def encoded(self, user_id: int, n: int, genres: Sequence[str]) -> bytes:
        seen = len(self.live.get(user_id, ()))
        body = json.dumps(self.recommendations(user_id, n, genres)).encode()
        # cached only if no rating was posted for the user meanwhile (it would be stale); the
        # check and the store are one step against posted() (fold-ins run in threads)
        with self._lock:
            if n == DEFAULT_N and not genres and len(self.live.get(user_id, ())) == seen:
                if len(self.rendered) >= MAX_CACHED:
                    self.rendered.pop(next(iter(self.rendered)), None)  # the oldest entry
                self.rendered[user_id] = body
        return body

    def posted(self, user_id: int, rows: list[tuple[int, float]], version: int) -> None:
        with self._lock:
            mine = self.live.setdefault(user_id, [])
            mine.extend((m, r, version) for m, r in rows)
            self.rendered.pop(user_id, None)
