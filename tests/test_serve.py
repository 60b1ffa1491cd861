"""The HTTP API on a copy of the quick-start lake: every endpoint against the tables (and the
Spark definitions) it serves, every error path, feedback durability across a restart, reload
on a new version while requests run, and fold-in against Spark's own ALS factors."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from fastapi.testclient import TestClient

from recsys import columns as C
from recsys.als import fold_in
from recsys.blend import cold_start, movie_popularity
from recsys.jobs.tables import TABLES
from recsys.serving import ServeConfig
from recsys.serving.app import create_app

CONFIG = ServeConfig(reload_seconds=0)  # the tests reload by hand: no timing, no sleeps


@pytest.fixture
def root(pipeline_lake, tmp_path) -> str:
    """A copy of the quick-start lake per test (posts and reloads write to it)."""
    copy = tmp_path / "lake"
    shutil.copytree(pipeline_lake.root, copy, ignore=shutil.ignore_patterns("_eval", "_models"))
    return str(copy)


def table(root: str, name: str):
    return DeltaTable(str(Path(root) / name)).to_pyarrow_table().to_pandas()


@pytest.fixture
def client(root):
    with TestClient(create_app(root, CONFIG)) as c:
        yield c


def a_user(root: str, rank: int = 0) -> int:
    recs = table(root, C.T_RECOMMENDATIONS)
    return int(np.sort(recs[C.USER_ID].unique())[rank])


def test_a_known_user_gets_the_batch_list(client, root):
    user = a_user(root)
    got = client.get(f"/users/{user}/recommendations").json()
    recs = table(root, C.T_RECOMMENDATIONS)
    mine = recs[recs[C.USER_ID] == user].sort_values(C.RANK)
    assert got["kind"] == "batch" and got[C.RUN_ID] == mine[C.RUN_ID].iloc[0]
    assert [i[C.MOVIE_ID] for i in got["items"]] == mine[C.MOVIE_ID].tolist()
    assert [i[C.REASON] for i in got["items"]] == mine[C.REASON].tolist()
    assert got["items"][0]["scores"]["als"] == pytest.approx(mine[C.ALS_SCORE].iloc[0])
    assert got["items"][0][C.TITLE] and got[C.HISTORY_BUCKET] == mine[C.HISTORY_BUCKET].iloc[0]
    three = client.get(f"/users/{user}/recommendations?n=3").json()["items"]
    assert [i[C.MOVIE_ID] for i in three] == mine[C.MOVIE_ID].tolist()[:3]


def test_a_repeated_request_is_answered_from_the_cache_as_the_app_answers_it(client, root):
    app = client.app
    served = app.state.server.served
    user = a_user(root, 3)
    path = f"/users/{user}/recommendations"
    first = client.get(path)  # computed by the route, then cached
    assert served.cached(user, 10, []) == first.content
    served.rendered[user] = b'{"from": "cache"}'  # a marker: answered without the route
    for again in (path, f"{path}?n=10", f"/users/{user:04d}/recommendations"):
        hit = client.get(again)
        assert hit.content == b'{"from": "cache"}'
        assert hit.headers["content-type"] == first.headers["content-type"]
        assert hit.headers["content-length"] == "17"
    for other in (f"{path}?n=9", f"{path}?n=10&genres=Drama"):
        assert client.get(other).json()["items"]  # anything else reaches the route
    assert client.get(path).content == b'{"from": "cache"}'
    assert asyncio.run(app.state.server.reload(force=True)) is True
    assert client.get(path).json()["items"]  # a new snapshot starts with an empty cache
    assert client.get(f"/users/{'9' * 5000}/recommendations").status_code == 422
    label = 'recsys_http_requests_total{method="GET",route="/users/{user_id}/recommendations"'
    assert f'{label},status="200"}} 8.0' in client.get("/metrics").text


def test_a_genre_filter_or_a_longer_list_is_filled_by_a_fold_in(client, root):
    user = a_user(root, 1)
    got = client.get(f"/users/{user}/recommendations?n=15&genres=Comedy,drama").json()
    assert len(got["items"]) == 15 and got["kind"] == "batch+fold-in"
    assert all({"comedy", "drama"} & {g.lower() for g in i[C.GENRES]} for i in got["items"])
    assert [i[C.RANK] for i in got["items"]] == list(range(1, 16))
    rated = set(table(root, C.T_RATINGS).query(f"{C.USER_ID} == {user}")[C.MOVIE_ID])
    assert not rated & {i[C.MOVIE_ID] for i in got["items"]}
    assert len({i[C.MOVIE_ID] for i in got["items"]}) == 15


def test_an_unknown_user_gets_spark_s_cold_start_list(client, root, spark, pipeline_lake):
    ratings, movies = pipeline_lake.lake.read(C.T_RATINGS), pipeline_lake.lake.read(C.T_MOVIES)
    for genres in ([], ["Drama", "Comedy"]):
        want = cold_start(movie_popularity(ratings), movies, n=10, genres=genres).toPandas()
        query = f"&genres={','.join(genres)}" if genres else ""
        got = client.get(f"/users/999999999/recommendations?n=10{query}").json()
        assert got["kind"] == "cold-start" and got["history_size"] == 0
        assert [i[C.MOVIE_ID] for i in got["items"]] == want[C.MOVIE_ID].tolist()
        assert [i[C.REASON] for i in got["items"]] == want[C.REASON].tolist()
        assert [i[C.SCORE] for i in got["items"]] == pytest.approx(want[C.SCORE].tolist())
    drama = cold_start(movie_popularity(ratings), movies, n=5, genres=["Drama"]).toPandas()
    popular = client.get("/popular?n=5&genre=Drama").json()["items"]
    assert [i[C.MOVIE_ID] for i in popular] == drama[C.MOVIE_ID].tolist()


def test_posted_ratings_are_committed_and_folded_in_at_once(client, root, spark):
    user = a_user(root, 2)
    before = client.get(f"/users/{user}/recommendations").json()
    first = before["items"][0][C.MOVIE_ID]
    out = client.post(f"/users/{user}/ratings", json={"ratings": [
        {"movie_id": first, "rating": 5.0}]})  # fmt: skip
    assert out.status_code == 200, out.text
    body = out.json()
    assert body["stored"] == 1 and body["feedback_version"] == 0
    after = body["recommendations"]
    assert after["kind"] == "fold-in" and after["history_size"] == before["history_size"] + 1
    assert first not in {i[C.MOVIE_ID] for i in after["items"]}
    assert all(i[C.REASON].startswith("because you rated ") for i in after["items"])
    nothing = client.get(f"/users/{user}/recommendations?genres=no-such-genre")
    assert nothing.status_code == 200 and nothing.json()["items"] == []  # Schemathesis found it
    again = client.get(f"/users/{user}/recommendations").json()
    assert [i[C.MOVIE_ID] for i in again["items"]] == [i[C.MOVIE_ID] for i in after["items"]]
    stored = table(root, C.T_FEEDBACK)
    assert stored[[C.USER_ID, C.MOVIE_ID, C.RATING]].values.tolist() == [[user, first, 5.0]]
    second = after["items"][0][C.MOVIE_ID]
    twice = [{"movie_id": second, "rating": 2.0}, {"movie_id": second, "rating": 1.0}]
    more = client.post(f"/users/{user}/ratings", json={"ratings": twice}).json()
    assert more["feedback_version"] == 1 and more["stored"] == 1  # the last rating of a movie
    assert DeltaTable(str(Path(root) / C.T_FEEDBACK)).version() == 1
    assert second not in {i[C.MOVIE_ID] for i in more["recommendations"]["items"]}
    written = spark.read.format("delta").load(str(Path(root) / C.T_FEEDBACK)).schema
    registered = TABLES[C.T_FEEDBACK].schema
    assert [(f.name, f.dataType) for f in written] == [(f.name, f.dataType) for f in registered]
    commit = DeltaTable(str(Path(root) / C.T_FEEDBACK)).history(1)[0]
    assert '"job": "serve"' in commit["userMetadata"]
    history = client.get(f"/users/{user}/ratings?n=100").json()
    assert {C.MOVIE_ID: second, C.RATING: 1.0}.items() <= next(
        i for i in history["items"] if i[C.MOVIE_ID] == second
    ).items()
    assert {C.MOVIE_ID: first, C.RATING: 5.0}.items() <= next(
        i for i in history["items"] if i[C.MOVIE_ID] == first
    ).items()


def test_feedback_survives_a_restart(root):
    user = 2_000_000_000  # a new user
    with TestClient(create_app(root, CONFIG)) as c:
        cold = c.get(f"/users/{user}/recommendations").json()
        assert cold["kind"] == "cold-start"
        liked = cold["items"][0][C.MOVIE_ID]
        posted = c.post(f"/users/{user}/ratings", json={"ratings": [
            {"movie_id": liked, "rating": 5}, {"movie_id": cold["items"][1][C.MOVIE_ID],
                                               "rating": 4}]})  # fmt: skip
        personal = posted.json()["recommendations"]
        assert personal["kind"] == "fold-in" and personal[C.HISTORY_BUCKET] == "1-5"
        assert any(i[C.BECAUSE_MOVIE_ID] == liked for i in personal["items"])
    with TestClient(create_app(root, CONFIG)) as again:  # a new process would read the same
        got = again.get(f"/users/{user}/recommendations").json()
        assert got["kind"] == "fold-in" and got["history_size"] == 2
        key = lambda answer: [(i[C.MOVIE_ID], i[C.REASON]) for i in answer["items"]]  # noqa: E731
        assert key(got) == key(personal)
        assert again.get("/health").json()["versions"][C.T_FEEDBACK] == 0


def test_writes_need_the_api_key_when_one_is_set(root, monkeypatch):
    monkeypatch.setenv("RECSYS_API_KEY", "s3cret")
    with TestClient(create_app(root, CONFIG)) as c:
        body = {"ratings": [{"movie_id": a_movie(root), "rating": 3}]}
        assert c.post("/users/1/ratings", json=body).status_code == 401
        assert (
            c.post("/users/1/ratings", json=body, headers={"X-API-Key": "nope"}).status_code == 401
        )
        ok = c.post("/users/1/ratings", json=body, headers={"X-API-Key": "s3cret"})
        assert ok.status_code == 200
        assert c.get("/users/1/recommendations").status_code == 200  # reads stay open


def a_movie(root: str) -> int:
    return int(table(root, C.T_MOVIES)[C.MOVIE_ID].min())


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "says"),
    [
        ("get", "/users/1/recommendations?n=0", None, 422, "greater than or equal to 1"),
        ("get", "/users/1/recommendations?n=101", None, 422, "less than or equal to 100"),
        ("get", "/users/-3/recommendations", None, 422, "greater than or equal to 0"),
        ("get", "/users/abc/recommendations", None, 422, "valid integer"),
        ("get", "/users/99999999999/recommendations", None, 422, "less than or equal"),
        ("get", "/movies/123456789/similar", None, 404, "not in the catalogue"),
        ("get", "/movies?q=", None, 422, "at least 1 character"),
        ("post", "/users/1/ratings", {"ratings": []}, 422, "at least 1 item"),
        ("post", "/users/1/ratings", {"ratings": [{"movie_id": 123456789, "rating": 3}]}, 422,
         "movie_id 123456789 is not in the catalogue"),
        ("post", "/users/1/ratings", {"ratings": [{"movie_id": "M", "rating": 9}]}, 422,
         "valid integer"),
        ("post", "/users/1/ratings", {"ratings": [{"movie_id": 0, "rating": 3}] * 501}, 422,
         "at most 500 ratings"),
        ("post", "/users/1/ratings", {"nothing": 1}, 422, "Field required"),
    ],
)  # fmt: skip
def test_bad_requests_get_a_clear_4xx(client, root, method, path, body, status, says):
    if body and body.get("ratings") and body["ratings"][0].get("movie_id") == 0:
        body = {"ratings": [{"movie_id": a_movie(root), "rating": 3}] * 501}
    got = getattr(client, method)(path, **({"json": body} if body is not None else {}))
    assert got.status_code == status, got.text
    assert says in got.text


def test_a_rating_off_the_lake_s_scale_and_an_oversized_body_are_refused(client, root):
    movie = a_movie(root)
    off = client.post("/users/1/ratings", json={"ratings": [{"movie_id": movie, "rating": 7}]})
    assert off.status_code == 422 and "outside this lake's" in off.text
    big = client.post("/users/1/ratings", content=b"{" + b" " * 70_000 + b"}",
                      headers={"content-type": "application/json"})  # fmt: skip
    assert big.status_code == 413 and "larger than 65536 bytes" in big.text
    chunked = client.post("/users/1/ratings", content=(b" " * 1000 for _ in range(70)),
                          headers={"content-type": "application/json"})  # fmt: skip
    assert chunked.status_code == 413, chunked.text  # no Content-Length: counted as it comes
    assert not (Path(root) / C.T_FEEDBACK).exists()  # nothing was committed


def test_similar_movies_and_search_and_health(client, root):
    similar = table(root, C.T_SIMILAR_MOVIES)
    movie = int(similar[C.MOVIE_ID].iloc[0])
    got = client.get(f"/movies/{movie}/similar?n=5").json()
    want = similar[similar[C.MOVIE_ID] == movie].sort_values(C.RANK).head(5)
    assert [i[C.MOVIE_ID] for i in got["items"]] == want[C.SIMILAR_MOVIE_ID].tolist()
    assert got["movie"][C.MOVIE_ID] == movie
    title = got["movie"][C.TITLE]
    found = client.get("/movies", params={"q": title[:6].upper()}).json()["items"]
    assert movie in [i[C.MOVIE_ID] for i in found]
    assert all(title[:6].lower() in i[C.TITLE].lower() for i in found)
    health = client.get("/health").json()
    assert (
        health["versions"][C.T_RECOMMENDATIONS]
        == DeltaTable(str(Path(root) / C.T_RECOMMENDATIONS)).version()
    )
    assert health["run_ids"][C.T_RECOMMENDATIONS] == table(root, C.T_RECOMMENDATIONS)[C.RUN_ID][0]
    page = client.get("/")
    assert page.status_code == 200 and 'id="recs"' in page.text
    assert client.get("/openapi.json").json()["paths"]["/users/{user_id}/recommendations"]
    metrics = client.get("/metrics").text
    assert 'recsys_http_requests_total{method="GET",route="/movies/{movie_id}/similar",' \
           'status="200"} 1.0' in metrics  # fmt: skip
    assert "recsys_http_request_duration_seconds_bucket" in metrics


def test_a_new_version_is_swapped_in_while_requests_keep_being_answered(client, root):
    server = client.app.state.server
    assert asyncio.run(server.reload()) is False  # nothing committed since the start
    user = a_user(root)
    uri = str(Path(root) / C.T_RECOMMENDATIONS)
    old = DeltaTable(uri).to_pyarrow_table()
    recs = old.to_pandas()
    recs.loc[recs[C.USER_ID] == user, C.REASON] = "because of a new run"
    new = pa.Table.from_pandas(recs, schema=old.schema, preserve_index=False)
    write_deltalake(uri, new, mode="overwrite")
    statuses: list[int] = []

    def requests() -> None:
        for _ in range(40):
            statuses.append(client.get(f"/users/{user}/recommendations").status_code)

    worker = threading.Thread(target=requests)
    worker.start()
    assert asyncio.run(server.reload()) is True
    worker.join()
    assert statuses == [200] * 40
    got = client.get(f"/users/{user}/recommendations").json()
    assert {i[C.REASON] for i in got["items"]} == {"because of a new run"}
    assert client.get("/health").json()["reloads"] == 1


def test_fold_in_recovers_spark_s_user_factors(client, root):
    """With the model's own settings, solving a trained user's vector from the final movie
    factors lands on (nearly) the vector ALS stored: the fold-in is ALS's own half-step."""
    snap = client.app.state.server.served.snap
    users = table(root, C.T_ALS_USER_FACTORS)
    cosines = []
    for _, row in users.head(20).iterrows():
        movies, ratings = snap.history.of_user(int(row[C.ID]))
        pos = np.searchsorted(snap.als.ids, movies)
        vector = fold_in(snap.als.items, pos, ratings, snap.als.config, snap.als.gram, snap.als.mu)
        stored = np.asarray(row[C.FEATURES], np.float64)
        cosines.append(vector @ stored / np.linalg.norm(vector) / np.linalg.norm(stored))
    assert min(cosines) > 0.95, cosines


def test_a_posted_rating_the_batch_has_not_seen_is_folded_in_after_a_restart(root):
    """Posted before the last recommend run but never ingested (so that run did not see it):
    the user is still served by fold-in."""
    from datetime import UTC, datetime

    from recsys.serving._feedback import FEEDBACK_SCHEMA

    user = a_user(root, 3)
    rated = set(table(root, C.T_RATINGS).query(f"{C.USER_ID} == {user}")[C.MOVIE_ID])
    movie = int(next(m for m in table(root, C.T_MOVIES)[C.MOVIE_ID] if m not in rated))
    old = datetime(2000, 1, 1, tzinfo=UTC)  # long before the batch list was generated
    row = pa.table([[user], [movie], [1.0], [old]], schema=FEEDBACK_SCHEMA)
    write_deltalake(str(Path(root) / C.T_FEEDBACK), row, mode="append")
    with TestClient(create_app(root, CONFIG)) as c:
        got = c.get(f"/users/{user}/recommendations").json()
    assert got["kind"] == "fold-in" and movie not in {i[C.MOVIE_ID] for i in got["items"]}
