from __future__ import annotations

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from keyring_idx.resolver.config import Prerelease
from keyring_idx.resolver.errors import ConfigError
from keyring_idx.resolver.select import (
    VersionPolicy,
    candidates,
    choose,
    make_target,
    prereleases_allowed,
    python_admits,
)
from keyring_idx.resolver.simple import DistFile

FOO = canonicalize_name("foo")


def f(name: str, **kw: object) -> DistFile:
    return DistFile(filename=name, url=f"https://h/{name}", **kw)  # type: ignore[arg-type]


def pick(req: str, files: list[DistFile], python: str = "3.12", platform: str = "linux") -> str:
    target = make_target(python, platform)
    usable, _ = candidates(files, FOO, target)
    r = Requirement(req)
    choice = choose(r, usable)
    return f"{choice.version} {choice.best.filename}" if choice else "none"


def test_highest_version_with_a_usable_file() -> None:
    files = [
        f("foo-1.0-py3-none-any.whl"),
        f("foo-2.0-cp312-cp312-win_amd64.whl"),
        f("foo-1.5.tar.gz"),
        f("bar-9.0-py3-none-any.whl"),
        f("foo-notaversion.tar.gz"),
        f("README.txt"),
    ]
    assert pick("foo", files) == "1.5 foo-1.5.tar.gz"
    assert pick("foo", files, platform="windows") == "2.0 foo-2.0-cp312-cp312-win_amd64.whl"


def test_best_wheel_by_tag_priority_then_sdist() -> None:
    files = [
        f("foo-1.0.tar.gz"),
        f("foo-1.0-py3-none-any.whl"),
        f("foo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"),
    ]
    assert pick("foo", files) == "1.0 foo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"
    assert pick("foo", files[:2]) == "1.0 foo-1.0-py3-none-any.whl"
    assert pick("foo", files, python="3.11") == "1.0 foo-1.0-py3-none-any.whl"


def test_requires_python_and_yanked() -> None:
    files = [
        f("foo-1.0-py3-none-any.whl"),
        f("foo-2.0-py3-none-any.whl", requires_python=">=3.13"),
        f("foo-1.5-py3-none-any.whl", yanked=True),
    ]
    assert pick("foo", files) == "1.0 foo-1.0-py3-none-any.whl"
    assert pick("foo", files, python="3.13") == "2.0 foo-2.0-py3-none-any.whl"
    assert pick("foo==1.5", files) == "1.5 foo-1.5-py3-none-any.whl"
    assert pick("foo>=1.5", files) == "none"


def test_prerelease_rule() -> None:
    # as the uv 0.13.9 binary chooses (tests/e2e/test_resolve_vs_uv.py asks it the same)
    files = [f("foo-1.0-py3-none-any.whl"), f("foo-2.0b1-py3-none-any.whl")]
    assert pick("foo", files) == "1.0 foo-1.0-py3-none-any.whl"
    assert pick("foo>=2.0b1", files) == "2.0b1 foo-2.0b1-py3-none-any.whl"
    # no stable version satisfies: the pre-release, though the specifier names none
    assert pick("foo>1.0", files) == "2.0b1 foo-2.0b1-py3-none-any.whl"
    # a stable version satisfies: it wins over a higher pre-release the specifier names
    assert pick("foo>=1.0b1", files) == "1.0 foo-1.0-py3-none-any.whl"
    only_pre = [f("foo-0.1a1-py3-none-any.whl"), f("foo-0.2a1-py3-none-any.whl")]
    assert pick("foo", only_pre) == "0.2a1 foo-0.2a1-py3-none-any.whl"
    assert prereleases_allowed(Requirement("x==1.0.*").specifier, [Version("1.0")]) is False


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("allow", ["2.0b1", "2.0b1", "2.0b1", "2.0b1"]),
        ("disallow", ["1.0", "1.0", "none", "none"]),
        ("explicit", ["1.0", "1.0", "2.0b1", "none"]),
        ("if-necessary", ["1.0", "1.0", "2.0b1", "2.0b1"]),
    ],
)
def test_prerelease_modes(mode: Prerelease, expected: list[str]) -> None:
    cands, _ = candidates(
        [f("foo-1.0-py3-none-any.whl"), f("foo-2.0b1-py3-none-any.whl")],
        canonicalize_name("foo"),
        make_target("3.12", "linux"),
    )
    got = []
    for spec in ("", ">=1.0b1", "==2.0b1", ">1.0"):
        choice = choose(SpecifierSet(spec), cands, VersionPolicy(prerelease=mode))
        got.append(str(choice.version) if choice else "none")
    assert got == expected


def test_resolution_lowest_and_exclude_newer() -> None:
    old = f("foo-1.0-py3-none-any.whl")
    files = [
        DistFile(old.filename, old.url, upload_time="2023-05-01T10:00:00.123Z"),
        DistFile("foo-1.5-py3-none-any.whl", "https://h/foo-1.5.whl"),  # no upload time
        DistFile("foo-2.0-py3-none-any.whl", "https://h/f2.whl", upload_time="2024-06-01T00:00Z"),
    ]
    cands, _ = candidates(files, canonicalize_name("foo"), make_target("3.12", "linux"))
    lowest = choose(SpecifierSet(">=1.2"), cands, VersionPolicy(resolution="lowest"))
    assert lowest is not None and str(lowest.version) == "1.5"
    cut = VersionPolicy(exclude_newer="2024-01-01T00:00:00Z")
    newest = choose(SpecifierSet(), cands, cut)
    # 1.5 has no upload time: uv leaves it out under exclude-newer
    assert newest is not None and str(newest.version) == "1.0"


def test_requires_python_upper_bounds_are_ignored() -> None:
    v = Version("3.11.7")
    assert python_admits("<3.11", v)
    assert python_admits(">=3.11,<3.12", v)
    assert not python_admits(">=3.12", v)
    assert not python_admits(">3.11.7", v)
    assert python_admits("~=3.8", v)
    assert python_admits("not a specifier", v)


def test_target_markers_and_errors() -> None:
    mac = make_target("3.10", "macos")
    assert mac.markers["sys_platform"] == "darwin"
    assert mac.markers["python_version"] == "3.10"
    with pytest.raises(ConfigError, match="python-platform"):
        make_target(None, "plan9")
    with pytest.raises(ConfigError, match="python-version"):
        make_target("three", None)
