"""Differential tests of the whole graph: real uv 0.13.9 (``uv pip compile``) and
``idx-auth resolve`` must pick the same version of every package from the same index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.differential import Outcome, isolated_env, ours
from tests.e2e.graph_diff import assert_same, both, uv_graph, uv_lock
from tests.e2e.index_server import IndexSpec, Release, serve

pytestmark = pytest.mark.timeout(240)


def R(version: str, *requires: str, **kw: object) -> Release:
    return Release(version, requires=tuple(requires), **kw)  # type: ignore[arg-type]


def packages(outcome: Outcome) -> dict[str, Any]:
    assert outcome.doc is not None
    found: list[dict[str, Any]] = outcome.doc["packages"]  # type: ignore[assignment]
    return {p["name"]: p for p in found}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "project"
    p.mkdir()
    return p


def test_chain(project: Path, tmp_path: Path) -> None:
    spec = IndexSpec(
        "a",
        {
            "app": [R("1.0", "mid>=1"), R("2.0", "mid>=2")],
            "mid": [R("1.0", "leaf"), R("2.0", "leaf<3"), R("2.1", "leaf<3")],
            "leaf": [R("1.0"), R("2.5"), R("3.0")],
        },
    )
    with serve([spec]) as s:
        uv, mine = both(project, isolated_env(tmp_path), ["app"], "--default-index", s.url("a"))
        u = s.url("a")
        assert_same(uv, mine, {"app": ("2.0", u), "mid": ("2.1", u), "leaf": ("2.5", u)})
        by_name = packages(mine)
        assert by_name["leaf"]["required_by"] == ["mid"]
        assert by_name["app"]["required_by"] == ["(direct)"]
        assert by_name["leaf"]["file"] == "leaf-2.5-py3-none-any.whl"
        assert by_name["leaf"]["hash"].startswith("sha256:")


def test_diamond(project: Path, tmp_path: Path) -> None:
    spec = IndexSpec(
        "a",
        {
            "left": [R("1.0", "base>=1,<3")],
            "right": [R("1.0", "base>=2")],
            "base": [R("1.0"), R("2.0"), R("2.9"), R("3.0")],
        },
        format="json",
    )
    with serve([spec]) as s:
        uv, mine = both(
            project, isolated_env(tmp_path), ["left", "right"], "--default-index", s.url("a")
        )
        u = s.url("a")
        assert_same(uv, mine, {"left": ("1.0", u), "right": ("1.0", u), "base": ("2.9", u)})
        by_name = packages(mine)
        assert sorted(by_name["base"]["required_by"]) == ["left", "right"]


def test_backtracking(project: Path, tmp_path: Path) -> None:
    # The newest alpha needs an old core that beta rules out: both must step alpha back.
    spec = IndexSpec(
        "a",
        {
            "alpha": [R("1.0", "core>=2"), R("2.0", "core<2"), R("3.0", "core<2")],
            "beta": [R("1.0", "core>=2"), R("1.1", "core>=2")],
            "core": [R("1.0"), R("1.5"), R("2.0"), R("2.2")],
        },
    )
    with serve([spec]) as s:
        uv, mine = both(
            project, isolated_env(tmp_path), ["alpha", "beta"], "--default-index", s.url("a")
        )
        u = s.url("a")
        assert_same(uv, mine, {"alpha": ("1.0", u), "beta": ("1.1", u), "core": ("2.2", u)})


def test_no_solution_fails_in_both(project: Path, tmp_path: Path) -> None:
    spec = IndexSpec(
        "a", {"x": [R("1.0", "core<2")], "y": [R("1.0", "core>=2")], "core": [R("1.0"), R("2.0")]}
    )
    with serve([spec]) as s:
        uv, mine = both(project, isolated_env(tmp_path), ["x", "y"], "--default-index", s.url("a"))
        assert uv.code != 0
        assert mine.code == 1
        assert "core" in mine.stderr and "no versions satisfy" in mine.stderr


def test_extras_and_markers(project: Path, tmp_path: Path) -> None:
    spec = IndexSpec(
        "a",
        {
            "lib": [
                R(
                    "1.0",
                    "plain",
                    'fast-dep; extra == "fast"',
                    'never-dep; extra == "other"',
                    'old-dep; python_version < "3.0"',
                    'linux-dep>=2; sys_platform == "linux"',
                    extras=("fast", "other"),
                )
            ],
            "plain": [R("1.0")],
            "fast-dep": [R("1.0", "deep[x]"), R("1.2", "deep[x]")],
            "deep": [R("1.0", 'deep-x; extra == "x"', extras=("x",))],
            "deep-x": [R("0.5")],
            "never-dep": [R("1.0")],
            "old-dep": [R("1.0")],
            "linux-dep": [R("1.0"), R("2.0")],
        },
    )
    with serve([spec]) as s:
        uv, mine = both(
            project, isolated_env(tmp_path), ["lib[fast]"], "--default-index", s.url("a")
        )
        u = s.url("a")
        expected = {
            "lib": ("1.0", u),
            "plain": ("1.0", u),
            "fast-dep": ("1.2", u),
            "deep": ("1.0", u),
            "deep-x": ("0.5", u),
            "linux-dep": ("2.0", u),
        }
        assert_same(uv, mine, expected)


def test_sdist_only_static_and_built(project: Path, tmp_path: Path) -> None:
    spec = IndexSpec(
        "a",
        {
            "top": [R("1.0", "static-only", "dynamic-only")],
            "static-only": [R("1.0", "from-static>=1", wheel=False, sdist="static")],
            "dynamic-only": [R("2.0", "from-built<2", wheel=False, sdist="dynamic")],
            "from-static": [R("1.0"), R("1.1")],
            "from-built": [R("1.0"), R("1.9"), R("2.0")],
        },
        backend=True,
    )
    with serve([spec]) as s:
        uv, mine = both(project, isolated_env(tmp_path), ["top"], "--default-index", s.url("a"))
        u = s.url("a")
        expected = {
            "top": ("1.0", u),
            "static-only": ("1.0", u),
            "dynamic-only": ("2.0", u),
            "from-static": ("1.1", u),
            "from-built": ("1.9", u),
        }
        assert_same(uv, mine, expected)


def test_dynamic_sdist_with_no_build_is_a_clear_error(project: Path, tmp_path: Path) -> None:
    spec = IndexSpec(
        "a", {"dyn": [R("1.0", "x", wheel=False, sdist="dynamic")], "x": [R("1.0")]}, backend=True
    )
    with serve([spec]) as s:
        uv, mine = both(
            project, isolated_env(tmp_path), ["dyn"], "--default-index", s.url("a"), "--no-build"
        )
        assert uv.code != 0
        assert mine.code == 1
        assert "dyn-1.0.tar.gz" in mine.stderr and "--no-build" in mine.stderr
        assert "Traceback" not in mine.stderr


@pytest.mark.parametrize("fmt", ["json", "html"])
def test_pep658_metadata_is_read_instead_of_the_wheel(
    project: Path, tmp_path: Path, fmt: str
) -> None:
    spec = IndexSpec(
        "a",
        {"top": [R("1.0", "dep>=1")], "dep": [R("1.0"), R("1.5")]},
        metadata=True,
        format=fmt,  # type: ignore[arg-type]
    )
    with serve([spec]) as s:
        env = isolated_env(tmp_path)
        uv = uv_graph(project, env, ["top"], "--default-index", s.url("a"))
        before = len(s.requests_for("a"))
        mine = ours(project, env, ["top"], "--default-index", s.url("a"))
        u = s.url("a")
        assert_same(uv, mine, {"top": ("1.0", u), "dep": ("1.5", u)})
        files = [x for x in s.requests_for("a")[before:] if "/files/" in x.path]
        assert {x.path.rsplit("/", 1)[-1] for x in files} == {
            "top-1.0-py3-none-any.whl.metadata",
            "dep-1.5-py3-none-any.whl.metadata",
        }


def test_range_requests_read_only_the_zip_directory(project: Path, tmp_path: Path) -> None:
    spec = IndexSpec("a", {"top": [R("1.0", "dep")], "dep": [R("1.0")]}, ranges=True)
    with serve([spec]) as s:
        env = isolated_env(tmp_path)
        uv = uv_graph(project, env, ["top"], "--default-index", s.url("a"))
        before = len(s.requests_for("a"))
        mine = ours(project, env, ["top"], "--default-index", s.url("a"))
        u = s.url("a")
        assert_same(uv, mine, {"top": ("1.0", u), "dep": ("1.0", u)})
        files = [x for x in s.requests_for("a")[before:] if "/files/" in x.path]
        assert files and all(x.range and x.range.startswith("bytes=") for x in files)


def test_first_index_applies_to_transitive_dependencies(project: Path, tmp_path: Path) -> None:
    specs = [
        IndexSpec("first", {"dep": [R("1.0"), R("1.5")]}),
        IndexSpec("second", {"top": [R("1.0", "dep")], "dep": [R("3.0")]}),
    ]
    with serve(specs) as s:
        uv, mine = both(
            project,
            isolated_env(tmp_path),
            ["top"],
            "--index",
            s.url("first"),
            "--default-index",
            s.url("second"),
        )
        assert_same(uv, mine, {"top": ("1.0", s.url("second")), "dep": ("1.5", s.url("first"))})


def test_first_index_does_not_look_further_for_a_transitive_version(
    project: Path, tmp_path: Path
) -> None:
    specs = [
        IndexSpec("first", {"dep": [R("1.0")]}),
        IndexSpec("second", {"top": [R("1.0", "dep>=2")], "dep": [R("3.0")]}),
    ]
    with serve(specs) as s:
        uv, mine = both(
            project,
            isolated_env(tmp_path),
            ["top"],
            "--index",
            s.url("first"),
            "--default-index",
            s.url("second"),
        )
        assert uv.code != 0
        assert mine.code == 1


def test_unsafe_best_match_across_indexes(project: Path, tmp_path: Path) -> None:
    specs = [
        IndexSpec("first", {"dep": [R("1.0")]}),
        IndexSpec("second", {"top": [R("1.0", "dep")], "dep": [R("3.0")]}),
    ]
    with serve(specs) as s:
        uv, mine = both(
            project,
            isolated_env(tmp_path),
            ["top"],
            "--index",
            s.url("first"),
            "--default-index",
            s.url("second"),
            "--index-strategy",
            "unsafe-best-match",
        )
        u = s.url("second")
        assert_same(uv, mine, {"top": ("1.0", u), "dep": ("3.0", u)})


def test_sources_pin_applies_to_direct_dependencies_only(project: Path, tmp_path: Path) -> None:
    specs = [
        IndexSpec("corp", {"corp-lib": [R("1.0", "corp-util")], "corp-util": [R("1.0")]}),
        IndexSpec("pub", {"corp-util": [R("9.9")]}),
    ]
    with serve(specs) as s:
        (project / "pyproject.toml").write_text(
            '[project]\nname = "demo"\nversion = "0.1"\nrequires-python = ">=3.11"\n'
            'dependencies = ["corp-lib"]\n\n'
            f'[[tool.uv.index]]\nname = "corp"\nurl = "{s.url("corp")}"\nexplicit = true\n\n'
            f'[[tool.uv.index]]\nname = "pub"\nurl = "{s.url("pub")}"\ndefault = true\n\n'
            '[tool.uv.sources]\ncorp-lib = { index = "corp" }\ncorp-util = { index = "corp" }\n'
        )
        uv, mine = both(project, isolated_env(tmp_path), [], pyproject=True)
        assert_same(
            uv, mine, {"corp-lib": ("1.0", s.url("corp")), "corp-util": ("9.9", s.url("pub"))}
        )


def test_yanked_transitive_version_is_skipped(project: Path, tmp_path: Path) -> None:
    spec = IndexSpec(
        "a",
        {"top": [R("1.0", "dep")], "dep": [R("1.0"), R("2.0", yanked=True)]},
    )
    with serve([spec]) as s:
        uv, mine = both(project, isolated_env(tmp_path), ["top"], "--default-index", s.url("a"))
        u = s.url("a")
        assert_same(uv, mine, {"top": ("1.0", u), "dep": ("1.0", u)})


def test_markers_for_another_platform_and_python(project: Path, tmp_path: Path) -> None:
    spec = IndexSpec(
        "a",
        {
            "app": [
                R(
                    "1.0",
                    'win-only; sys_platform == "win32"',
                    'posix-only; sys_platform != "win32"',
                    'old-py; python_version < "3.12"',
                    'new-py>=2; python_version >= "3.12"',
                )
            ],
            "win-only": [R("1.0")],
            "posix-only": [R("1.0")],
            "old-py": [R("1.0")],
            "new-py": [R("1.0"), R("2.0"), R("2.5", requires_python=">=3.13")],
        },
    )
    with serve([spec]) as s:
        uv, mine = both(
            project,
            isolated_env(tmp_path),
            ["app"],
            "--default-index",
            s.url("a"),
            "--python-platform",
            "windows",
            "--python-version",
            "3.12",
        )
        u = s.url("a")
        assert_same(uv, mine, {"app": ("1.0", u), "win-only": ("1.0", u), "new-py": ("2.0", u)})


def test_requires_python_known_only_from_the_metadata(project: Path, tmp_path: Path) -> None:
    # The page does not say it; the wheel's METADATA does: uv steps back to the older version.
    newer = Release("2.0", requires_python=">=3.99", page_requires_python=False)
    spec = IndexSpec("a", {"top": [R("1.0", "dep")], "dep": [R("1.0"), newer]}, metadata=True)
    with serve([spec]) as s:
        uv, mine = both(project, isolated_env(tmp_path), ["top"], "--default-index", s.url("a"))
        u = s.url("a")
        assert_same(uv, mine, {"top": ("1.0", u), "dep": ("1.0", u)})


def test_project_graph_agrees_with_uv_lock(project: Path, tmp_path: Path) -> None:
    specs = [
        IndexSpec(
            "corp",
            {"corp-lib": [R("1.0", "corp-util", "shared>=1")], "corp-util": [R("1.0")]},
        ),
        IndexSpec(
            "pub",
            {
                "corp-util": [R("9.9")],
                "shared": [R("1.0"), R("1.5"), R("2.0")],
                "web": [R("3.0", "shared<2", "extra-thing[fast]")],
                "extra-thing": [R("1.0", 'speedy; extra == "fast"', extras=("fast",))],
                "speedy": [R("0.1"), R("0.2")],
            },
        ),
    ]
    with serve(specs) as s:
        (project / "pyproject.toml").write_text(
            '[project]\nname = "demo"\nversion = "0.1"\nrequires-python = ">=3.11"\n'
            'dependencies = ["corp-lib", "web"]\n\n'
            f'[[tool.uv.index]]\nname = "corp"\nurl = "{s.url("corp")}"\nexplicit = true\n\n'
            f'[[tool.uv.index]]\nname = "pub"\nurl = "{s.url("pub")}"\ndefault = true\n\n'
            '[tool.uv.sources]\ncorp-lib = { index = "corp" }\n'
        )
        env = isolated_env(tmp_path)
        uv = uv_lock(project, env)
        mine = ours(project, env, [])
        c, p = s.url("corp"), s.url("pub")
        expected = {
            "corp-lib": ("1.0", c),
            "corp-util": ("9.9", p),
            "shared": ("1.5", p),
            "web": ("3.0", p),
            "extra-thing": ("1.0", p),
            "speedy": ("0.2", p),
        }
        assert_same(uv, mine, expected)
