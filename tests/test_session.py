"""What every session recsys builds is given: BLAS threads, quiet logging, the BLAS report."""

from __future__ import annotations

from pathlib import Path

from recsys.cli import build_parser, overrides
from recsys.config import SparkSettings, load_settings
from recsys.session import (
    BLAS_THREAD_VARS,
    LOCAL_JIT_OPTIONS,
    LOG4J2_CONF,
    blas_description,
    spark_conf,
)


def test_blas_threads_travel_to_the_executors():
    conf = spark_conf(SparkSettings(blas_threads=1))
    for var in BLAS_THREAD_VARS:
        assert conf[f"spark.executorEnv.{var}"] == "1"
    untouched = spark_conf(SparkSettings(blas_threads=None))
    assert not any(key.startswith("spark.executorEnv.") for key in untouched)


def test_default_log_level_uses_the_packaged_quiet_log4j2_file():
    conf = spark_conf(SparkSettings(master=None))
    assert conf["spark.driver.extraJavaOptions"] == f"-Dlog4j2.configurationFile={LOG4J2_CONF}"
    text = Path(LOG4J2_CONF).read_text()
    assert "org.apache.spark.util.Utils" in text and "rootLogger.level = warn" in text
    verbose = spark_conf(SparkSettings(master=None, log_level="INFO"))
    assert "spark.driver.extraJavaOptions" not in verbose


def test_a_local_driver_gets_the_jit_thresholds_and_a_cluster_does_not():
    local = spark_conf(SparkSettings(master="local[2]"))["spark.driver.extraJavaOptions"]
    assert local.split() == [f"-Dlog4j2.configurationFile={LOG4J2_CONF}", *LOCAL_JIT_OPTIONS]
    verbose = spark_conf(SparkSettings(master="local[2]", log_level="INFO"))
    assert verbose["spark.driver.extraJavaOptions"].split() == list(LOCAL_JIT_OPTIONS)
    cluster = spark_conf(SparkSettings(master="yarn"))["spark.driver.extraJavaOptions"]
    assert "Tier4" not in cluster


def test_profile_conf_wins_over_the_defaults():
    conf = spark_conf(SparkSettings(conf={"spark.driver.extraJavaOptions": "-Dmine=1"}))
    assert conf["spark.driver.extraJavaOptions"] == "-Dmine=1"


def test_verbose_flag_is_a_log_level_override():
    args = build_parser("sql").parse_args(["sql", "--verbose", "--lake-root", "x", "SELECT 1"])
    settings = load_settings("test", overrides(args))
    assert settings.spark.log_level == "INFO"
    quiet = build_parser("sql").parse_args(["sql", "SELECT 1"])
    assert load_settings("test", overrides(quiet)).spark.log_level == "WARN"


def test_the_blas_report_is_one_line_naming_the_implementation(spark):
    line = blas_description(spark)
    assert "\n" not in line
    assert line.startswith(("BLAS: native (JNI", "BLAS: Java ("))
