"""Imports point one way (DESIGN §5): org ← accounts ← catalogue ← cases ← the rest."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "civicgrid"
# Lower layers never import higher ones; apps on one layer (the rest) do not import each other.
LAYERS = {
    "org": 0,
    "accounts": 1,
    "catalogue": 2,
    "cases": 3,
    "intake": 4,
    "routing": 4,
    "analytics": 4,
    "grid": 4,
    "community": 4,
    "notify": 4,
    "ops": 5,
}
# Shared infrastructure any layer may use.
INFRASTRUCTURE = {"clock", "env", "jobs", "api_messages"}


def app_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "civicgrid" or len(parts) < 2:
        return None
    return parts[1]


def imported_apps(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found |= {app for app in map(app_of, names) if app is not None}
    return found


def app_modules() -> list[tuple[str, Path]]:
    return [
        (p.relative_to(PACKAGE).parts[0], p)
        for p in PACKAGE.glob("*/**/*.py")
        if p.relative_to(PACKAGE).parts[0] in LAYERS
    ]


@pytest.mark.parametrize(("app", "path"), app_modules(), ids=lambda v: str(v).split("civicgrid/")[-1])
def test_it_keeps_imports_pointing_one_way(app: str, path: Path) -> None:
    for other in imported_apps(path) - INFRASTRUCTURE - {app}:
        assert other in LAYERS, f"{path} imports civicgrid.{other}, which belongs to no layer"
        assert LAYERS[other] < LAYERS[app], (
            f"{path} ({app}) imports civicgrid.{other}: imports must point down"
        )


def test_it_finds_the_modules_it_checks() -> None:
    checked = {app for app, _ in app_modules()}
    assert {"org", "accounts", "catalogue", "cases"} <= checked


def test_it_would_catch_the_case_engine_importing_a_channel(tmp_path: Path) -> None:
    offending = tmp_path / "bad.py"
    offending.write_text("from civicgrid.intake.open311 import views\n", encoding="utf-8")

    assert imported_apps(offending) == {"intake"}
    assert LAYERS["intake"] > LAYERS["cases"]
