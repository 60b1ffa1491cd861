"""The package's layers import in one direction only, and no module imports itself back
through others: foundations <- models, blend, evaluation <- jobs <- pipeline <- cli."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "recsys"

LAYERS: dict[str, int] = {
    # foundations: columns, schemas, config, session, the lake, runs, small helpers
    **dict.fromkeys(
        ("columns", "schemas", "config", "session", "lakehouse", "runs", "errors", "display",
         "vectorised", "catalog", "resources", "candidates", "jvm_packages"), 0,
    ),
    # models, blend, evaluation: DataFrame -> DataFrame code (ingest: parsers and validation)
    **dict.fromkeys(
        ("als", "content", "neighbors", "blend", "evaluation", "ingest"), 1
    ),
    "jobs": 2,
    "serving": 2,  # the HTTP API: a long-running job over the lake
    "pipeline": 3,
    "cli": 4,
}  # fmt: skip
NAMES = {0: "foundations", 1: "models", 2: "jobs", 3: "pipeline", 4: "cli"}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """``recsys.*`` modules ``path`` imports, at any depth of the file (lazy imports too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("recsys")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("recsys"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    del modules["recsys"]  # the root package: a docstring and a version
    return {m: {i for i in _imports(p) if i in modules and i != m} for m, p in modules.items()}


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    if top not in LAYERS:
        pytest.fail(f"{module}: put recsys.{top} in a layer of tests/test_layers.py")
    return LAYERS[top]


def _upward(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{m} ({NAMES[_layer(m)]}) imports {i} ({NAMES[_layer(i)]})"
        for m, imported in sorted(graph.items())
        for i in sorted(imported)
        if _layer(i) > _layer(m)
    ]


def _cycles(graph: dict[str, set[str]]) -> list[str]:
    # a package's __init__ importing its own submodules is how packages re-export, not a cycle
    edges = {m: {i for i in out if not i.startswith(m + ".")} for m, out in graph.items()}
    state: dict[str, int] = {}
    found: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1  # on the current path
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                found.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2  # done

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def test_every_import_points_down_or_sideways():
    upward = _upward(_graph())
    assert not upward, "\n".join(upward)


def test_no_import_cycle():
    cycles = _cycles(_graph())
    assert not cycles, "\n".join(cycles)


LAKE = ("recsys.lakehouse", "recsys.runs", "recsys.catalog")


def _lake_access(graph: dict[str, set[str]]) -> list[str]:
    """Models, blend and evaluation importing the lake: only jobs read and write it."""
    return [
        f"{m} imports {i}"
        for m, imported in sorted(graph.items())
        if _layer(m) == 1
        for i in sorted(imported)
        if i.startswith(LAKE)
    ]


def test_models_never_touch_the_lake():
    found = _lake_access(_graph())
    assert not found, "\n".join(found)


def test_the_checks_can_fail():
    """An upward arrow and a cycle planted in the real graph are both reported."""
    graph = _graph()
    graph["recsys.neighbors.knn"] = graph["recsys.neighbors.knn"] | {"recsys.jobs.recommend"}
    assert _upward(graph) == ["recsys.neighbors.knn (models) imports recsys.jobs.recommend (jobs)"]
    assert any("recsys.neighbors.knn" in c for c in _cycles(graph))  # jobs.recommend imports it
    graph["recsys.neighbors.ease"] = graph["recsys.neighbors.ease"] | {"recsys.lakehouse"}
    assert _lake_access(graph) == ["recsys.neighbors.ease imports recsys.lakehouse"]


def _private_imports(paths: list[Path]) -> list[str]:
    """Private ``recsys`` modules or names (a leading underscore) imported from outside."""
    return [
        f"{p.name} imports {i}"
        for p in paths
        for i in sorted(_imports(p))
        if any(part.startswith("_") for part in i.split(".")[1:])
    ]


def test_benchmarks_use_the_public_api(tmp_path):
    scripts = sorted((PACKAGE.parent / "benchmarks").glob("*.py"))
    assert scripts
    found = _private_imports(scripts)
    assert not found, "\n".join(found)
    planted = tmp_path / "bench.py"
    planted.write_text("from recsys.blend._recommend import EASE\nimport recsys.jobs._context\n")
    assert _private_imports([planted]) == [
        "bench.py imports recsys.blend._recommend",
        "bench.py imports recsys.blend._recommend.EASE",
        "bench.py imports recsys.jobs._context",
    ]
