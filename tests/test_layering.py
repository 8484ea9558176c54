"""Imports point down: core <- conf <- models <- orm <- adapters <- rest (STYLE.md section 7.1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "django_scim"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                found.add(node.module)
    return found


def _files(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _files("core"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_is_pure(path: Path) -> None:
    """The SCIM core uses the standard library only: no Django, DRF or app settings."""
    for name in _imports(path):
        assert not name.startswith(("django", "rest_framework")) or name.startswith("django_scim.core"), name


@pytest.mark.parametrize(
    "path", _files("orm") + _files("adapters"), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_orm_and_adapters_do_not_import_drf(path: Path) -> None:
    for name in _imports(path):
        assert not name.startswith(("rest_framework", "django_scim.rest")), name


def test_the_walk_sees_relative_imports() -> None:
    """Guard the guard: a relative import in the core resolves to its absolute name."""
    assert "django_scim.core.errors" in _imports(PACKAGE / "core" / "schema.py") | _imports(
        PACKAGE / "core" / "document.py"
    )
