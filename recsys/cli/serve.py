"""`recsys serve`: the HTTP API and web app over the lake (no Spark)."""

from __future__ import annotations

import argparse

from recsys.jobs import JobContext
from recsys.jobs.configs import job_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="interface to bind (default serve.host: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="TCP port (default serve.port: 8000)")


def run(args: argparse.Namespace, ctx: JobContext) -> int:
    from recsys.serving.app import serve

    flags = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    config = job_config(ctx.settings, "serve", flags)
    lake = ctx.settings.lake
    serve(lake.root, config, lake.storage_options or None, log=ctx.log)
    return 0
