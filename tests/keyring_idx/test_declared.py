"""Parsing [tool.idx-auth.indexes.*] (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from keyring_idx import declared
from keyring_idx.resolver.errors import ConfigError


def test_tables_become_declarations_in_order() -> None:
    doc = {
        "tool": {
            "idx-auth": {
                "indexes": {
                    "internal": {"provider": "vault", "vault-path": "secret/x", "vault-ttl": 600},
                    "legacy": {"username": "alice"},
                }
            }
        }
    }
    found = declared.parse(doc, "pyproject.toml")
    assert [d.name for d in found] == ["internal", "legacy"]
    assert found[0].provider == "vault" and found[0].get("vault-ttl") == "600"
    assert found[1].provider is None and found[1].get("username") == "alice"


def test_nothing_declared() -> None:
    assert declared.parse({"tool": {"uv": {}}}, "p") == ()
    assert declared.parse({}, "p") == ()


@pytest.mark.parametrize(
    ("doc", "wanted"),
    [
        ({"tool": {"idx-auth": "x"}}, r"\[tool.idx-auth\] in p must be a table"),
        ({"tool": {"idx-auth": {"indexes": []}}}, "must be a table of tables"),
        ({"tool": {"idx-auth": {"indexes": {"a": 1}}}}, r"indexes.a\] in p must be a table"),
        ({"tool": {"idx-auth": {"indexes": {"a": {"password": "pw"}}}}}, "secrets do not belong"),
        ({"tool": {"idx-auth": {"indexes": {"a": {"token": "t"}}}}}, "secrets do not belong"),
        ({"tool": {"idx-auth": {"indexes": {"a": {"x": True}}}}}, "string or a number"),
        ({"tool": {"idx-auth": {"indexes": {"a": {"x": ["l"]}}}}}, "string or a number"),
    ],
)
def test_bad_tables_are_refused(doc: dict[str, object], wanted: str) -> None:
    with pytest.raises(ConfigError, match=wanted) as info:
        declared.parse(doc, "p")
    assert "pw" not in str(info.value)


def test_read_finds_the_nearest_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.idx-auth.indexes.a]\nprovider = "gcp"\n')
    sub = tmp_path / "src" / "pkg"
    sub.mkdir(parents=True)
    found = declared.read(sub)
    assert found.path == tmp_path / "pyproject.toml" and found.indexes[0].provider == "gcp"
    (tmp_path / "pyproject.toml").write_text("not = [toml")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        declared.read(sub)
