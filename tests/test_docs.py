"""The docs that describe code are generated from it and cannot drift: the table reference from
recsys/jobs/tables.py, the settings reference from the config classes; the README stays a front
page whose links resolve."""

from __future__ import annotations

import re

from recsys.jobs import configs
from recsys.jobs.tables import TABLES, meaning, rewrite
from tests._paths import REPO

README = REPO / "README.md"
TABLES_DOC = REPO / "docs" / "tables.md"
CONFIG_DOC = REPO / "docs" / "configuration.md"


def test_the_table_reference_is_generated_from_the_registry():
    assert rewrite(TABLES_DOC) == TABLES_DOC.read_text(), (
        "docs/tables.md is stale: run `python -m recsys.jobs.tables docs/tables.md`"
    )


def test_the_settings_reference_is_generated_from_the_config_classes():
    assert configs.reference() == CONFIG_DOC.read_text(), (
        "docs/configuration.md is stale: run `python -m recsys.jobs.configs > "
        "docs/configuration.md`"
    )


def test_every_table_and_column_is_registered_and_explained():
    from recsys.catalog import KNOWN_TABLES

    assert tuple(TABLES) == KNOWN_TABLES
    for name, table in TABLES.items():
        names = table.schema.fieldNames()
        assert not set(table.columns) - set(names), f"{name}: meanings for unknown columns"
        assert all(meaning(name, c) for c in names), f"{name}: a column without a meaning"


def test_every_setting_is_explained():
    text = CONFIG_DOC.read_text()
    unexplained = [
        row for row in text.splitlines() if row.startswith("| `") and row.endswith("|  |")
    ]
    assert not unexplained, "\n".join(unexplained)


def test_readme_is_a_front_page_naming_only_real_tables():
    text = README.read_text()
    assert len(text.splitlines()) <= 300
    section = text.split("## Output tables", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([a-z_]+)`", section)) - {"als_"}
    assert named and named <= set(TABLES) | {"als_*"}, named - set(TABLES)


def test_relative_links_resolve():
    pages = [README, *sorted((REPO / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name}: broken link {target}"
