"""The direction of imports the design fixes, read from the source (no module is imported).

- keyring_idx -> store, never back;
- the resolver and doctor never import the CLI (the CLI is their shell, not the other way);
- the CLI talks to the agent (client, protocol) or starts it (daemon, cached_store), and writes
  its units; the agent's internals stay behind those;
- a module whose docstring calls it pure ("Pure", "No I/O") imports only modules that say so too;
- the keyring backend imports only the standard library and keyring at import time (keyring
  imports every plugin on every run), and so does the access path it calls.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("store", "keyring_idx")
PURE_CLAIM = re.compile(r"(?:^|[.:;]\s+|\n\s*)(?:Pure|No I/O)\b|\((?:pure|no I/O)\b")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for top in PACKAGES for p in (ROOT / top).rglob("*.py")}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Imports under ``if TYPE_CHECKING:`` exist for the type checker only."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for n in ast.walk(node))
    return skipped


def imported_modules(path: Path, *, top_level_only: bool = False) -> set[str]:
    """Modules ``path`` imports when it runs (``from pkg import mod`` names ``pkg.mod``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(
                f"{node.module}.{a.name}"
                for a in node.names
                if f"{node.module}.{a.name}" in MODULES
            )
    return names


def _claims_purity(path: Path) -> bool:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return bool(PURE_CLAIM.search(doc))


def _is_pure(name: str) -> bool:
    path = MODULES[name]
    if path.name == "__init__.py" and not imported_modules(path):
        return True  # a package whose __init__ imports nothing adds nothing to its modules
    return _claims_purity(path)


def _offenders(paths: list[Path], bad: object) -> dict[str, list[str]]:
    assert callable(bad)
    found = {
        str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if bad(m)) for p in paths
    }
    return {k: v for k, v in found.items() if v}


def test_store_never_imports_keyring_idx() -> None:
    paths = list((ROOT / "store").rglob("*.py"))
    assert _offenders(paths, lambda m: m.split(".")[0] == "keyring_idx") == {}


def test_resolver_and_doctor_never_import_the_cli() -> None:
    paths = [
        p for sub in ("resolver", "doctor") for p in (ROOT / "keyring_idx" / sub).rglob("*.py")
    ]
    assert paths
    assert _offenders(paths, lambda m: m.startswith("keyring_idx.cli")) == {}


def test_keyring_idx_uses_only_the_agents_public_modules() -> None:
    public = {
        "store.agent",
        "store.agent.client",
        "store.agent.protocol",
        "store.agent.daemon",
        "store.agent.cached_store",
        "store.agent.units",
        # The socket exchange and framing alone, for the callers that must start in a few
        # milliseconds: the keyring launcher and the CLI's quick path (docs/run.md).
        "store.agent.transport",
        "store.agent.wire",
    }
    paths = list((ROOT / "keyring_idx").rglob("*.py"))
    assert _offenders(paths, lambda m: m.startswith("store.agent") and m not in public) == {}


def test_pure_modules_import_only_pure_modules() -> None:
    pure = [name for name in MODULES if _claims_purity(MODULES[name])]
    # The rule reads every form of the claim.
    assert {"store.refresh.roster", "store.service", "store.crypto", "store.redaction"} <= set(pure)
    found = {
        name: sorted(m for m in imported_modules(MODULES[name]) if m in MODULES and not _is_pure(m))
        for name in pure
    }
    assert {k: v for k, v in found.items() if v} == {}


def _outside_stdlib(path: Path, allowed: set[str]) -> list[str]:
    return sorted(
        m
        for m in imported_modules(path, top_level_only=True)
        if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] not in allowed
    )


def test_the_keyring_backend_imports_only_stdlib_and_keyring_at_import_time() -> None:
    # jaraco.classes is keyring's own dependency, loaded by keyring before any plugin.
    assert _outside_stdlib(ROOT / "keyring_idx" / "backend.py", {"keyring", "jaraco"}) == []


def test_the_access_path_imports_only_stdlib_at_import_time() -> None:
    assert _outside_stdlib(ROOT / "store" / "access.py", set()) == []
    assert _outside_stdlib(ROOT / "store" / "credential.py", set()) == []
    assert _outside_stdlib(ROOT / "store" / "agent" / "client.py", {"store"}) == []
    client_imports = imported_modules(ROOT / "store" / "agent" / "client.py", top_level_only=True)
    assert {m for m in client_imports if m.startswith("store")} <= {
        "store.agent",
        "store.agent.transport",
        "store.agent.wire",
        "store.credential",
    }
    assert _outside_stdlib(ROOT / "store" / "agent" / "transport.py", {"store"}) == []
    assert _outside_stdlib(ROOT / "store" / "leanjson.py", set()) == []


def test_no_utils_modules() -> None:
    assert [p for p in ROOT.glob("*/**/utils.py") if ".venv" not in p.parts] == []
