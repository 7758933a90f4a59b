"""The direction of imports the design fixes: keyring_idx -> store, never back."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_store_never_imports_keyring_idx() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] == "keyring_idx"
        )
        for path in (ROOT / "store").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_utils_modules() -> None:
    assert [p for p in ROOT.glob("*/**/utils.py") if ".venv" not in p.parts] == []
