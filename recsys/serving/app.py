"""The HTTP API and web app over the lake (``recsys serve``): FastAPI on uvicorn, no Spark.

``create_app`` reads the lake once (a few seconds), then a background task checks the served
tables' Delta logs every ``reload_seconds`` and swaps in a new snapshot when a job committed;
posted ratings are committed to ``feedback`` and folded in at once. Every answer comes from
in-memory indexes; nothing a client sends reaches SQL or a file path.
"""

import asyncio
import contextlib
import gc
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable
from importlib import resources
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from recsys import columns as C
from recsys.lakehouse import ArrowLake
from recsys.runs import new_run_id
from recsys.serving import ServeConfig
from recsys.serving._feedback import FeedbackLog
from recsys.serving._metrics import Metrics
from recsys.serving._snapshot import FEEDBACK, WATCHED, load
from recsys.serving._state import DEFAULT_N, Served

MAX_ID = 2**31 - 1
UserId = Annotated[int, Path(ge=0, le=MAX_ID, description="the user's id (the source's own)")]
MovieId = Annotated[int, Path(ge=0, le=MAX_ID, description="the movie's id (the source's own)")]


class RatingIn(BaseModel):
    movie_id: int = Field(ge=0, le=MAX_ID)
    rating: float = Field(allow_inf_nan=False)


class RatingsIn(BaseModel):
    ratings: list[RatingIn] = Field(min_length=1)


def _genres(text: str | None) -> list[str]:
    return [g for g in (text or "").split(",") if g.strip()]


class Server:
    """The state behind the routes: the served snapshot, the lake, the feedback committer."""

    def __init__(self, root: str, config: ServeConfig, storage_options: dict[str, str] | None):
        self.config = config
        self.reader = ArrowLake(root, storage_options)
        self.writer = ArrowLake(root, storage_options)  # the committer thread's own handles
        self.run_id = new_run_id("serve")
        self.served = Served.of(load(self.reader, config.prior_weight), config.cold_start_min_count)
        _settle()
        self.loaded_at = time.time()
        self.reloads = 0
        self.feedback = FeedbackLog(self.writer, self.run_id, config.feedback_batch_ms)
        self.api_key = os.environ.get(config.api_key_env) or None
        self.metrics = Metrics()

    def changed(self) -> bool:
        versions = self.served.snap.versions
        return any(self.reader.version(name) != versions.get(name) for name in WATCHED)

    async def watch(self) -> None:
        """Reload when a served table has a new version; a failed check or load keeps the
        current snapshot and is retried at the next tick."""
        while True:
            await asyncio.sleep(self.config.reload_seconds)
            await self.reload()

    async def reload(self, force: bool = False) -> bool:
        try:
            if not force and not await asyncio.to_thread(self.changed):
                return False
            snap = await asyncio.to_thread(load, self.reader, self.config.prior_weight)
        except Exception as exc:  # keep serving the last good snapshot
            self.metrics.reload_failures.inc()
            print(f"recsys serve: reload failed, still serving the previous tables: {exc}")
            return False
        self.served = Served.of(snap, self.config.cold_start_min_count, self.served)
        await asyncio.to_thread(_settle)
        self.loaded_at = time.time()
        self.reloads += 1
        return True


def _settle() -> None:
    """Move what a load allocated out of the garbage collector's sight: the snapshot lives
    until the next reload, and scanning it in every full collection shows as latency spikes."""
    gc.unfreeze()  # the previous snapshot's objects may be garbage now
    gc.collect()
    gc.freeze()


def create_app(
    root: str, config: ServeConfig | None = None, storage_options: dict[str, str] | None = None
) -> FastAPI:
    config = config or ServeConfig()
    server = Server(root, config, storage_options)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(server.watch()) if config.reload_seconds > 0 else None
        yield
        if task is not None:
            task.cancel()
        server.feedback.close()

    app = FastAPI(
        title="recsys",
        summary="Movie recommendations from the recsys lake, with new ratings folded in at once.",
        version="1",
        lifespan=lifespan,
    )
    app.state.server = server
    N = Annotated[int, Query(ge=1, le=config.max_n, description="how many items")]

    def require_key(x_api_key: Annotated[str | None, Header()] = None) -> None:
        if server.api_key is None:
            return
        if x_api_key is None or not secrets.compare_digest(x_api_key, server.api_key):
            raise HTTPException(401, "this server needs an X-API-Key header for writes")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        page = resources.files("recsys.serving").joinpath("static/index.html").read_text()
        return HTMLResponse(page)

    @app.get("/users/{user_id}/recommendations", summary="A user's top-n with reasons")
    async def recommendations(
        user_id: UserId,
        n: N = DEFAULT_N,
        genres: Annotated[
            str | None, Query(max_length=500, description="comma-separated, any of them")
        ] = None,
    ) -> Response:
        served, wanted = server.served, _genres(genres)
        body = served.cached(user_id, n, wanted)
        if body is None and served.cheap(user_id, n, wanted):
            body = served.encoded(user_id, n, wanted)
        elif body is None:  # a fold-in takes milliseconds: off the event loop
            body = await asyncio.to_thread(served.encoded, user_id, n, wanted)
        return Response(body, media_type="application/json")

    @app.get("/users/{user_id}/ratings", summary="A user's ratings, best first")
    def history(user_id: UserId, n: N = 50) -> dict[str, Any]:
        served = server.served
        movies, ratings = served.history(user_id)
        order = np.lexsort((movies, -ratings))[:n]
        cat = served.snap.catalogue
        items = []
        for i in order:
            pos = cat.position(int(movies[i]))
            movie = cat.movie(pos) if pos is not None else {C.MOVIE_ID: int(movies[i])}
            items.append({**movie, C.RATING: float(ratings[i])})
        return {C.USER_ID: user_id, "history_size": len(movies), "items": items}

    @app.post("/users/{user_id}/ratings", summary="Add ratings; the new list comes back")
    async def rate(
        user_id: UserId, body: RatingsIn, _: Annotated[None, Depends(require_key)]
    ) -> dict[str, Any]:
        served = server.served
        if len(body.ratings) > config.max_ratings:
            raise HTTPException(422, f"at most {config.max_ratings} ratings per request")
        lo, hi = served.snap.scale
        rows: list[tuple[int, float]] = []
        for r in body.ratings:
            if served.snap.catalogue.position(r.movie_id) is None:
                raise HTTPException(422, f"movie_id {r.movie_id} is not in the catalogue")
            if not lo <= r.rating <= hi:
                raise HTTPException(422, f"rating {r.rating} is outside this lake's {lo}-{hi}")
            rows.append((r.movie_id, r.rating))
        rows = list(dict(rows).items())  # a movie twice in one request: its last rating
        # the fold-in runs while the commit does (neither needs the other), and nothing is
        # answered or served before the commit succeeded
        folding = asyncio.create_task(
            asyncio.to_thread(served.recommendations, user_id, DEFAULT_N, [], rows)
        )
        try:
            version, _ = await server.feedback.append(user_id, rows)
        except Exception as exc:
            folding.cancel()
            raise HTTPException(503, f"the ratings were not stored ({exc}); retry") from exc
        current = server.served  # a reload may have swapped the state during the commit
        current.posted(user_id, rows, version)  # served from now on, whatever happens next
        fresh = await folding
        if current is not served:
            fresh = await asyncio.to_thread(current.recommendations, user_id, DEFAULT_N, [])
        return {
            C.USER_ID: user_id,
            "stored": len(rows),
            "feedback_version": version,
            "recommendations": fresh,
        }

    @app.get("/movies/{movie_id}/similar", summary="Movies like this one")
    def similar(movie_id: MovieId, n: N = DEFAULT_N) -> dict[str, Any]:
        snap = server.served.snap
        cat = snap.catalogue
        pos = cat.position(movie_id)
        if pos is None:
            raise HTTPException(404, f"movie_id {movie_id} is not in the catalogue")
        rows = [] if snap.similar is None else snap.similar.rows(movie_id)[:n]
        items = []
        for r in rows:
            other = cat.position(r[C.SIMILAR_MOVIE_ID])
            movie = cat.movie(other) if other is not None else {C.MOVIE_ID: r[C.SIMILAR_MOVIE_ID]}
            items.append(
                {
                    C.RANK: r[C.RANK],
                    **movie,
                    C.SCORE: r[C.SCORE],
                    C.CONTENT_SIMILARITY: r[C.CONTENT_SIMILARITY],
                    C.CF_SIMILARITY: r[C.CF_SIMILARITY],
                }
            )
        return {"movie": cat.movie(pos), "items": items}

    @app.get("/movies", summary="Find movies by title")
    def search(
        q: Annotated[str, Query(min_length=1, max_length=200, description="part of a title")],
        n: N = 20,
    ) -> dict[str, Any]:
        snap = server.served.snap
        cat = snap.catalogue
        needle = q.strip().lower()
        hits = [i for i, t in enumerate(cat.lower) if needle in t]
        hits.sort(key=lambda i: (not cat.lower[i].startswith(needle), -snap.counts[i]))
        return {"query": q, "items": [cat.movie(i) for i in hits[:n]]}

    @app.get("/popular", summary="Popular, well-rated movies")
    def popular(
        n: N = DEFAULT_N,
        genre: Annotated[str | None, Query(max_length=200, description="comma-separated")] = None,
    ) -> dict[str, Any]:
        return {"items": server.served.recommender.cold_start(n, _genres(genre))}

    @app.get("/health", summary="Table versions and runs being served")
    def health() -> dict[str, Any]:
        snap = server.served.snap
        return {
            "status": "ok",
            "versions": snap.versions,
            "run_ids": snap.run_ids,
            "sources": list(snap.sources),
            "loaded_at": server.loaded_at,
            "reloads": server.reloads,
            "users": len(snap.history.user_ids),
            "movies": len(snap.catalogue.ids),
            "rating_scale": list(snap.scale),
            "feedback_table": server.reader.uri(FEEDBACK),
        }

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    def metrics() -> Response:
        body, content_type = server.metrics.exposition()
        return Response(body, media_type=content_type)

    @app.exception_handler(ValueError)
    async def bad_value(request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    route = next(r for r in app.routes if getattr(r, "endpoint", None) is recommendations)
    app.add_middleware(CachedAnswers, server=server, route=route)
    app.add_middleware(server.metrics.middleware, limit=config.max_body_bytes)  # outermost
    return app


class CachedAnswers:
    """``GET /users/{id}/recommendations`` answered from the cached bytes before FastAPI
    routes, validates and runs the dependency machinery: that costs more than the answer
    itself and, at saturation, sets the latency tail. Only a request whose exact answer is in
    the cache is served here (an entry exists only after the same request passed FastAPI's
    validation); anything else goes on to the app unchanged."""

    PREFIX, SUFFIX = "/users/", "/recommendations"

    def __init__(self, app: Any, server: Server, route: Any):
        self.app, self.server, self.route = app, server, route

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = self._cached(scope) if scope["type"] == "http" else None
        if body is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route  # the metrics label it as the route it is
        headers = [(b"content-length", b"%d" % len(body)), (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _cached(self, scope: dict[str, Any]) -> bytes | None:
        path: str = scope["path"]
        if (
            scope["method"] != "GET"
            or scope["query_string"] not in (b"", b"n=%d" % DEFAULT_N)
            or not path.startswith(self.PREFIX)
            or not path.endswith(self.SUFFIX)
        ):
            return None
        user = path[len(self.PREFIX) : -len(self.SUFFIX)]
        if not (0 < len(user) <= 10 and user.isascii() and user.isdigit()) or int(user) > MAX_ID:
            return None
        return self.server.served.cached(int(user), DEFAULT_N, [])


def serve(
    root: str,
    config: ServeConfig | None = None,
    storage_options: dict[str, str] | None = None,
    log: Any = print,
) -> None:
    """Run the app on uvicorn until interrupted (``recsys serve``); says where it listens
    once the socket is bound (``--port 0`` picks a free port)."""
    import uvicorn
    from threadpoolctl import threadpool_limits

    # every request's numpy work is small: BLAS threads would only spin against the
    # committer and the event loop for the same cores (in-process on 2 cores, an append
    # beside a fold-in: median 19 -> 16 ms; append and fold-in, p99 54 -> 41 ms)
    threadpool_limits(1, user_api="blas")
    config = config or ServeConfig()
    app = create_app(root, config, storage_options)
    server: Server = app.state.server
    writes = "open" if server.api_key is None else f"need X-API-Key (${config.api_key_env})"

    def ready(port: int) -> None:
        log(f"recsys serve: {root} at http://{config.host}:{port}/ (API docs at /docs, "
            f"writes {writes})")  # fmt: skip

    options = uvicorn.Config(app, host=config.host, port=config.port, log_level="warning",
                             access_log=False)  # fmt: skip
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn stops cleanly, then re-raises it
        uvicorn_server(options, ready).run()
    log("recsys serve: stopped")


def uvicorn_server(config: Any, ready: Callable[[int], None]) -> Any:
    """A ``uvicorn.Server`` for ``config`` calling ``ready(port)`` once its socket is bound
    (tests run it in a thread and wait for that, never for a time)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:
                ready(int(self.servers[0].sockets[0].getsockname()[1]))

    return Server(config)
