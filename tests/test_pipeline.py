"""End to end: the README's `recsys pipeline` on the built-in default data (the session's
``pipeline_lake``), and the properties every recommendation list must have (no rated movie, N
rows, ranks 1..N, honest reasons)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, IntegerType, StringType, TimestampType

from recsys import columns as C
from recsys.errors import RecsysError
from recsys.jobs.queries import metrics_report, user_report
from recsys.pipeline import STAGES, PipelineConfig, stage_names

N = 10  # the default list length

REC_COLUMNS = {
    C.RUN_ID: StringType(),
    C.USER_ID: IntegerType(),
    C.RANK: IntegerType(),
    C.MOVIE_ID: IntegerType(),
    C.SCORE: DoubleType(),
    C.ALS_SCORE: DoubleType(),
    C.CONTENT_SCORE: DoubleType(),
    C.REASON: StringType(),
    C.GENERATED_AT: TimestampType(),
}


@pytest.fixture(scope="module")
def run(pipeline_lake):
    return pipeline_lake


@pytest.fixture(scope="module")
def recs(run):
    return run.lake.read(C.T_RECOMMENDATIONS)


def test_every_stage_ran_and_recorded_itself(run):
    assert set(run.stage_run_ids) == set(STAGES)
    runs = run.lake.read("runs")
    pipeline = runs.where(F.col(C.RUN_ID) == run.run_id).collect()
    assert [(r["job"], r["status"]) for r in pipeline] == [("pipeline", "succeeded")]
    assert set(pipeline[0]["timings"]) == set(STAGES)
    stage_ids = list(run.stage_run_ids.values())
    assert None not in stage_ids
    ok = runs.where(F.col(C.RUN_ID).isin(stage_ids) & (F.col("status") == "succeeded"))
    assert ok.select(C.RUN_ID).distinct().count() == len(STAGES)


def test_every_table_has_its_registered_schema(run, recs):
    """What the jobs write is what recsys/jobs/tables.py (and so docs/tables.md) says."""
    from recsys.catalog import lake_tables
    from recsys.jobs.tables import TABLES

    types = {f.name: f.dataType for f in recs.schema.fields}
    assert {name: types.get(name) for name in REC_COLUMNS} == REC_COLUMNS
    written = lake_tables(run.lake)
    # als_search: written only by a search (train-als --grid); feedback: by recsys serve
    expected = set(TABLES) - {C.T_ALS_SEARCH, C.T_FEEDBACK}
    assert set(written) == expected
    for name in written:
        assert run.lake.schema(name).simpleString() == TABLES[name].schema.simpleString(), name


def test_no_user_is_recommended_a_movie_they_rated(run, recs):
    rated = run.lake.read("ratings").select(C.USER_ID, C.MOVIE_ID)
    assert recs.join(rated, [C.USER_ID, C.MOVIE_ID], "left_semi").count() == 0


def test_every_user_gets_n_rows_ranked_1_to_n(run, recs):
    ratings = run.lake.read("ratings")
    n_movies = run.lake.read("movies").count()
    per_user = recs.groupBy(C.USER_ID).agg(
        F.count(F.lit(1)).alias("rows"),
        F.countDistinct(C.RANK).alias("ranks"),
        F.countDistinct(C.MOVIE_ID).alias("movies"),
        F.min(C.RANK).alias("lo"),
        F.max(C.RANK).alias("hi"),
    )
    expected = ratings.groupBy(C.USER_ID).agg(
        F.least(F.lit(N), F.lit(n_movies) - F.count(F.lit(1))).alias("want")
    )
    joined = expected.join(per_user, C.USER_ID, "left")
    bad = joined.where(
        F.col("rows").isNull()
        | (F.col("rows") != F.col("want"))
        | (F.col("ranks") != F.col("rows"))
        | (F.col("movies") != F.col("rows"))
        | (F.col("lo") != 1)
        | (F.col("hi") != F.col("rows"))
    )
    assert bad.limit(5).collect() == []
    assert per_user.count() == expected.count()


def test_reasons_name_a_movie_the_user_rated(run, recs):
    from recsys.blend import because_text

    rated = (
        run.lake.read("ratings")
        .join(run.lake.read("movies"), C.MOVIE_ID)
        .select(
            C.USER_ID,
            because_text(F.col(C.TITLE), F.col(C.RATING)).alias(C.REASON),
        )
    )
    honest = recs.join(rated, [C.USER_ID, C.REASON], "left_semi")
    cold = recs.where(F.col(C.REASON).startswith("popular in "))
    assert recs.where(F.col(C.REASON).isNull()).count() == 0
    assert honest.count() + cold.count() == recs.count()
    assert honest.count() > 0


def test_evaluate_scored_every_model_and_baseline(run):
    evaluate_id = run.stage_run_ids["evaluate"]
    metrics = run.lake.read(C.T_METRICS).where(F.col(C.RUN_ID) == evaluate_id)
    ndcg = {r[C.MODEL]: r[C.VALUE] for r in metrics.where(F.col(C.METRIC) == "ndcg").collect()}
    assert set(ndcg) == {"als", "content", "blend", "most-popular", "most-popular-rated", "random"}
    assert all(0.0 <= v <= 1.0 for v in ndcg.values())
    assert ndcg["blend"] > ndcg["random"]
    assert not (Path(run.lake.root) / "_eval" / evaluate_id).exists()  # scratch removed


def test_the_pipeline_flags_reach_every_stage_config_and_evaluate_retrains_with_them():
    """`--als-args` etc. are parsed by each job's own flags into the pipeline's configs (ALS's
    default `--split none` kept), and the evaluate stage retrains with those very configs."""
    from recsys.cli import build_parser
    from recsys.cli.pipeline import config
    from recsys.config import load_settings

    argv = ["pipeline", "--size", "tiny", "--als-args", "--rank 64", "--recommend-args",
            "--candidates 30", "--evaluate-args", "--split temporal"]  # fmt: skip
    got = config(build_parser("pipeline").parse_args(argv), load_settings("test"))
    assert got.als.model.rank == 64 and got.als.split == "none"
    assert got.blend.candidates == 30 and got.blend.n == 10
    evaluate = got.config_of("evaluate")
    assert evaluate.split == "temporal"
    assert evaluate.als == got.als and evaluate.recommend == got.blend


def test_evaluate_alone_retrains_with_the_given_model_arguments():
    """`recsys evaluate --als-args ...` must not fall back to the defaults for a model job it
    does not run itself, e.g. a 25m run's `--rank 64`."""
    from recsys.cli import build_parser
    from recsys.cli.evaluate import config
    from recsys.config import load_settings

    args = build_parser("evaluate").parse_args(["evaluate", "--als-args", "--rank 64"])
    got = config(args, load_settings("test"))
    assert got.als.model.rank == 64 and got.als.split == "none"
    assert got.recommend.n == 10


def test_reports_show_titles_reasons_and_metrics(run, recs):
    user = recs.agg(F.min(C.USER_ID)).first()[0]
    text = user_report(run.lake, n=N)
    assert text.startswith(f"user {user} rated ")
    expected = (
        recs.where(F.col(C.USER_ID) == user)
        .join(run.lake.read("movies"), C.MOVIE_ID)
        .orderBy(C.RANK)
        .select(C.TITLE, C.REASON)
        .first()
    )
    first_row = text.splitlines()[4]
    assert first_row.split()[0] == "1"
    assert expected[C.TITLE][:40] in first_row and expected[C.REASON][:20] in first_row
    report = metrics_report(run.lake, run.stage_run_ids["evaluate"])
    assert report.splitlines()[0].split()[:5] == ["dataset", "split", "model", "k", "precision"]
    assert "blend" in report


def test_stages_run_in_pipeline_order_and_unknown_ones_are_refused():
    assert stage_names("content,ingest") == ("ingest", "content")
    assert PipelineConfig(stages=("evaluate", "als")).stages == ("als", "evaluate")
    with pytest.raises(RecsysError, match=r"unknown pipeline stage\(s\) \['magic'\]"):
        stage_names("ingest,magic")


@pytest.mark.parametrize(
    ("params", "label"),
    [
        ({"source": "synthetic", "size": None}, "synthetic-default"),
        ({"source": "synthetic", "size": "tiny"}, "synthetic-tiny"),
        ({"source": "ml-100k"}, "ml-100k"),
        ({"source": "/data/ml-latest-small.zip"}, "ml-latest-small"),
        ({"source": "synthetic", "ratings": "/data/my_ratings.csv"}, "my_ratings.csv"),
        ({"source": {"synthetic": {}}, "dataset": "synthetic-1m"}, "synthetic-1m"),
    ],
)
def test_metrics_are_labelled_with_what_was_ingested(params, label):
    from recsys.jobs.evaluate import label_from_ingest

    assert label_from_ingest(params) == label


def test_evaluate_refuses_unknown_models_before_starting_spark(capsys):
    from recsys.cli import main

    assert main(["evaluate", "--models", "blend,magic"]) == 2
    assert "unknown model(s) ['magic']" in capsys.readouterr().err
