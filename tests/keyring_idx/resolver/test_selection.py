from __future__ import annotations

from pathlib import Path

import pytest

from keyring_idx.resolver.config_files import read_workspace
from keyring_idx.resolver.errors import ConfigError
from keyring_idx.resolver.outcome import Skipped, Unresolved
from keyring_idx.resolver.resolve import Wanted, merge_requirements
from keyring_idx.resolver.select import make_target
from keyring_idx.resolver.selection import Selection, selected, universe

ROOT = """
[project]
name = "root"
version = "0"
dependencies = ["bar"]

[dependency-groups]
dev = ["baz<3"]

[tool.uv.workspace]
members = ["packages/*"]

[[tool.uv.index]]
name = "priv"
url = "https://priv/simple"
explicit = true

[tool.uv.sources]
foo = { index = "priv" }
ws1 = { index = "mem" }
"""

MEMBER = """
[project]
name = "m"
version = "0"
dependencies = ["foo", "baz"]

[project.optional-dependencies]
x = ["ex1<2"]

[dependency-groups]
dev = ["dev1"]
lint = ["lint1", {include-group = "dev"}]

[[tool.uv.index]]
name = "mem"
url = "https://mem/simple"
explicit = true

[tool.uv]
dev-dependencies = ["legacy"]

[tool.uv.sources]
foo = { index = "mem" }
"""


def workspace(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(ROOT)
    member = tmp_path / "packages" / "m"
    member.mkdir(parents=True)
    (member / "pyproject.toml").write_text(MEMBER)
    (tmp_path / "uv.toml").write_text('index-strategy = "unsafe-best-match"\n')
    return member


def test_a_member_is_resolved_with_the_root_settings_and_pins(tmp_path: Path) -> None:
    ws = read_workspace(workspace(tmp_path))
    assert ws is not None
    assert ws.root == tmp_path and ws.current.name == "m"
    assert ws.settings_layer is not None and ws.settings_layer.origin.endswith("uv.toml")
    assert [i.name for i in ws.pin_indexes] == ["priv", "mem"]
    sources = ws.sources()
    assert sources["foo"][0].index == "mem"  # the member's own pin wins
    assert sources["ws1"][0].index == "mem"  # the root's pin applies to members
    assert "baz<3" in universe(ws) and "lint1" in universe(ws)


def test_uv_sync_selection(tmp_path: Path) -> None:
    ws = read_workspace(workspace(tmp_path))
    assert ws is not None
    reqs, picked = selected(ws, Selection())
    assert reqs == ["foo", "baz", "dev1", "legacy"]
    assert picked == ["dependencies", "group dev"]
    reqs, _ = selected(ws, Selection(extras=("X",), groups=("lint",), no_dev=True))
    assert reqs == ["foo", "baz", "ex1<2", "lint1", "dev1"]
    with pytest.raises(ConfigError, match="extra 'y'"):
        selected(ws, Selection(extras=("y",)))
    with pytest.raises(ConfigError, match="group 'docs'"):
        selected(ws, Selection(groups=("docs",)))


def test_no_project_means_the_pip_model(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.uv]\nindex-url = 'https://x/simple'\n")
    assert read_workspace(tmp_path) is None


def test_requirements_merge_like_uv() -> None:
    target = make_target("3.12", "linux")
    merged = merge_requirements(
        ["baz>=1.5", "ex1>=2", "baz<3", "win; sys_platform == 'win32'", "not valid ==", "qux"],
        target,
        constraints=["baz!=2.1", "qux<2", "unused<1"],
        overrides=["ex1==1.0"],
    )
    by_name: dict[str | None, Wanted | Unresolved | Skipped] = {m.name: m for m in merged}
    baz, ex1, qux = by_name["baz"], by_name["ex1"], by_name["qux"]
    assert isinstance(baz, Wanted) and str(baz.specifier) == "!=2.1,<3,>=1.5"
    assert isinstance(ex1, Wanted) and str(ex1.specifier) == "==1.0"
    assert isinstance(qux, Wanted) and str(qux.specifier) == "<2"
    assert isinstance(by_name["win"], Skipped)
    assert isinstance(by_name[None], Unresolved)
    assert "unused" not in by_name
