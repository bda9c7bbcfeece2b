"""Imports point one way: contracts at the bottom, the model runtime above them, then the jobs.

A wrong-way import (say, the dashboard reaching into the worker for a Redis key) fails here,
with the file and line, before it can tangle the layout again.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# package -> the project packages it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "schemas": set(),
    "model": {"schemas"},
    "producer": {"schemas"},
    "devstack": {"schemas"},
    "worker": {"schemas", "model"},
    "training": {"schemas", "model", "producer"},
    "dashboard": {"schemas"},
    "sentinel": {"schemas"},
    "benchmarks": {"schemas", "model", "worker", "producer", "dashboard", "devstack", "sentinel"},
    "cli": {
        "schemas",
        "model",
        "worker",
        "producer",
        "training",
        "dashboard",
        "devstack",
        "sentinel",
    },
}
PROJECT = set(ALLOWED) | {"tests"}


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, top-level project package) for every import in the file, nested ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name.split(".")[0]) for name in names]
    return [(line, top) for line, top in found if top in PROJECT]


def wrong_way_imports(package: str) -> list[str]:
    allowed = ALLOWED[package] | {package}
    return [
        f"{path.relative_to(REPO)}:{line} imports {top}"
        for path in sorted((REPO / package).rglob("*.py"))
        for line, top in imported_packages(path)
        if top not in allowed
    ]


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_the_layers_below_it(package: str) -> None:
    assert wrong_way_imports(package) == []


def test_a_wrong_way_import_is_caught(tmp_path: Path) -> None:
    module = tmp_path / "live.py"
    module.write_text("def key():\n    from worker.redis_side import live_key\n")
    assert imported_packages(module) == [(2, "worker")]


def test_every_top_level_package_has_a_rule() -> None:
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests"}
    assert packages <= set(ALLOWED), f"no import rule for {packages - set(ALLOWED)}"


@pytest.mark.parametrize("package", sorted(set(ALLOWED) - {"benchmarks"}))
def test_each_package_says_its_job_in_its_docstring(package: str) -> None:
    docstring = ast.get_docstring(ast.parse((REPO / package / "__init__.py").read_text()))
    assert docstring and len(docstring.split()) >= 8, f"{package}/__init__.py: say its job"
