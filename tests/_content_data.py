"""Hand-made catalogues for the content tests (explicit schemas, known answers)."""

from __future__ import annotations

import random

from tests import _frames as fr
from tests._frames import T0

# id, title, year, genres, release_date
MOVIES = [
    (1, "Inception (2010)", 2010, ["Action", "Sci-Fi", "Thriller"], None),
    (2, "Looper (2012)", 2012, ["Action", "Sci-Fi", "Thriller"], None),
    (3, "Notting Hill (1999)", 1999, ["Comedy", "Romance"], None),
    (4, "Love Actually (2003)", 2003, ["Comedy", "Romance"], None),
    (5, "Primer (2004)", 2004, ["Drama", "Sci-Fi"], None),
    (6, "Heat (1995)", 1995, ["Action", "Crime", "Thriller"], None),
    (7, "Heat (1972)", 1972, ["Drama"], None),
    (8, "Matrix, The (1999)", 1999, ["Action", "Sci-Fi"], None),
    (9, "unknown", None, [], None),  # nothing known: no document
    (10, "Zzyzx", None, ["(no genres listed)"], None),  # only a token no other movie has
]

# user, movie, tag: Inception and Looper share "time travel" and "mind-bending"
TAGS = [
    (1, 1, "time travel"),
    (2, 1, "Time Travel!"),
    (3, 1, "mind-bending"),
    (1, 2, "time-travel"),
    (2, 2, "Mind Bending"),
    (4, 3, "british"),
    (4, 4, "British"),
    (5, 5, "time travel"),
]


def movies_df(spark, rows=MOVIES):
    return fr.movies(spark, rows)


def tags_df(spark, rows=TAGS):
    return fr.tags(spark, rows)


def ratings_df(spark, rows):
    return fr.ratings(spark, [(u, m, r, T0) for u, m, r in rows])


def random_catalogue(n: int, seed: int = 7) -> tuple[list, list]:
    """``n`` movies drawn from a few genre/tag themes, seeded: clusters with known structure."""
    rng = random.Random(seed)
    genres = ["Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi", "Thriller", "War"]
    words = [f"w{i}" for i in range(60)]
    tag_pool = [f"theme {i}" for i in range(40)]
    movies, tags = [], []
    for movie_id in range(1, n + 1):
        year = rng.randint(1950, 2019)
        g = rng.sample(genres, rng.randint(1, 3))
        title = " ".join(rng.sample(words, 2)) + f" ({year})"
        movies.append((movie_id, title, year, g, None))
        for user in rng.sample(range(1, 30), rng.randint(0, 4)):
            tags.append((user, movie_id, rng.choice(tag_pool)))
    return movies, tags
