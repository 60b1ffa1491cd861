"""Every shell command and SQL example the README and docs/tables.md show, run to its end (as
chispa tests its README): the tour on a copy of the quick-start lake, the real-data pipeline on
ml-100k, every example query through `recsys sql`. Commands that need what a test machine does
not have are listed with the test that covers them or the reason, and a new command without
either fails here."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from recsys.cli import main
from tests._paths import REPO, TEST_PROFILE, movielens_zip

README = REPO / "README.md"
TABLES_DOC = REPO / "docs" / "tables.md"

# Commands run elsewhere: a full-match pattern -> (the file that runs it, a string that file
# must contain to prove it).
ELSEWHERE: dict[str, tuple[str, str]] = {
    r"python3 -m venv \.venv|\. \.venv/bin/activate|pip install -e (\.|\"\.\[test\]\")": (
        ".ci/run", "pip install -q -e",
    ),
    r"python -m pytest( .*)?": (".ci/run", "python -m pytest"),
    r"ruff (check|format) .*": (".ci/run", "ruff check . && ruff format --check ."),
    r"recsys pipeline": ("tests/conftest.py", 'QUICK_START = ["pipeline"]'),
    r"recsys pipeline --ratings .*": ("tests/test_pipeline_generic.py", '"--ratings"'),
    r"python -m recsys\.jobs\.tables .*": ("tests/test_docs.py", "rewrite(TABLES_DOC)"),
    r"python -m recsys\.jobs\.configs .*": ("tests/test_docs.py", "configs.reference()"),
    r"spark-submit .*": ("tests/test_cluster.py", '"spark-submit"'),
    r"recsys serve": ("tests/test_serve_cli.py", '"serve"'),
    r"python benchmarks/serve\.py .*": ("tests/test_serve_cli.py", '"serve.py"'),
    r"pip install -e \"\.\[test,notebook\]\" jupyterlab|RECSYS_LAKE_ROOT=.* jupyter lab .*": (
        "tests/test_notebook.py", "NotebookClient",
    ),
}  # fmt: skip


def _logical_lines(block: str) -> list[str]:
    """A shell block's commands: continuations joined, comments and blank lines dropped."""
    joined = block.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        line = re.sub(r"\s+#(?![^\"]*\"[^\"]*$).*$", "", line).strip()  # a comment, not in quotes
        if line and not line.startswith("#"):
            out.append(" ".join(line.split()))
    return out


def shell_commands(page: Path) -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", page.read_text(), flags=re.S)
    return [line for block in blocks for line in _logical_lines(block)]


def sql_examples(page: Path) -> list[str]:
    blocks = re.findall(r"```sql\n(.*?)```", page.read_text(), flags=re.S)
    statements = []
    for block in blocks:
        for chunk in re.split(r"\n\s*\n", block):
            body = "\n".join(x for x in chunk.splitlines() if not x.strip().startswith("--"))
            if body.strip():
                statements.append(body.strip())
    return statements


def _recsys_parts(command: str) -> list[str]:
    """The ``recsys ...`` commands of a line (``a && recsys b`` -> ``recsys b``)."""
    return [p.strip() for p in command.split("&&") if p.strip().startswith("recsys ")]


def _covered_elsewhere(command: str) -> bool:
    return any(re.fullmatch(pattern, command) for pattern in ELSEWHERE)


def _run(command: str, lake_root: Path, capsys) -> str:
    """``command`` (a README line) through the CLI in this process, on ``lake_root`` with the
    test profile; its output."""
    argv = shlex.split(command)[1:]
    argv = [str(lake_root) if a == "./lake" else a for a in argv]
    if "--lake-root" not in argv:
        argv += ["--lake-root", str(lake_root)]
    else:
        argv[argv.index("--lake-root") + 1] = str(lake_root)
    code = main([*argv, "--profile", TEST_PROFILE])
    out = capsys.readouterr()
    assert code == 0, f"`{command}` exited {code}:\n{out.err[-2000:]}"
    return out.out


def test_every_command_is_run_here_or_by_a_named_test():
    commands = shell_commands(README) + shell_commands(TABLES_DOC)
    assert len(commands) > 10
    run_here = {*_tour(), *_real_data(), *_doc_queries()}
    for line in commands:
        for part in [p.strip() for p in line.split("&&")]:
            if part in run_here:
                continue
            assert _covered_elsewhere(part), f"README/docs command not run by any test: {part}"
    for where, needle in ELSEWHERE.values():
        assert needle in (REPO / where).read_text(), (where, needle)


def _tour() -> list[str]:
    """The README's tour block: the commands run on the quick-start lake."""
    text = README.read_text()
    block = text.split("## A tour of the commands", 1)[1].split("```bash\n", 1)[1]
    return _logical_lines(block.split("```", 1)[0])


def _real_data() -> list[str]:
    text = README.read_text().split("Real data, and any ratings file:", 1)[1]
    lines = _logical_lines(text.split("```bash\n", 1)[1].split("```", 1)[0])
    return [line for line in lines if not _covered_elsewhere(line)]


def test_the_quick_start_runs_the_command_the_readme_shows(pipeline_lake):
    """The session's pipeline lake is the README's first command: same argv, run to its end."""
    from tests.conftest import QUICK_START

    first = shell_commands(README)[0]
    assert _recsys_parts(first) == [shlex.join(["recsys", *QUICK_START])]
    out = pipeline_lake.output
    assert "pipeline pipeline-" in out and "finished in" in out
    assert "because you rated" in out and "ndcg" in out


def test_the_tour_runs_in_order_on_the_quick_start_lake(pipeline_lake, tmp_path, capsys):
    lake = tmp_path / "lake"
    shutil.copytree(pipeline_lake.root, lake)  # the tour writes; the session's lake stays as is
    outputs = {command: _run(command, lake, capsys) for command in _tour()}
    assert len(outputs) >= 7
    said = "\n".join(outputs.values())
    assert "because you rated" in said and "popular in Drama" in said
    assert "recommendations" in outputs['recsys --lake-root ./lake sql "SHOW TABLES"']
    assert "  ease:\n    k: 100\n" in outputs["recsys config recommend --set recommend.ease.k=100"]


@pytest.mark.integration
def test_the_real_data_pipeline_runs_on_ml_100k(tmp_path, capsys, monkeypatch):
    movielens_zip("ml-100k")  # skips with the reason when the mirror is absent
    monkeypatch.chdir(REPO)  # the README's commands run from the repository's root
    (command,) = _real_data()
    out = _run(command, tmp_path / "ml100k", capsys)
    assert "ingested ml-100k" in out and "100,000 rows" in out
    assert "because you rated" in out and "blend" in out


def _doc_queries() -> list[str]:
    """docs/tables.md's shell examples (all `recsys sql`: read-only)."""
    return [c for c in shell_commands(TABLES_DOC) if c.startswith("recsys ")]


def test_every_sql_example_runs_through_recsys_sql(pipeline_lake, capsys):
    """docs/tables.md's queries (not the Databricks DDL, which `recsys sql` refuses by design)
    and its `recsys sql` commands, on the quick-start lake."""
    statements = [s for s in sql_examples(TABLES_DOC) if not s.upper().startswith("CREATE")]
    assert len(statements) >= 8
    commands = [shlex.join(["recsys", "sql", s]) for s in statements] + _doc_queries()
    assert all(" sql " in c for c in _doc_queries())
    for command in commands:
        out = _run(command, Path(pipeline_lake.root), capsys)
        assert re.search(r"\(\d+ rows?\)|rows shown", out), command
