from __future__ import annotations

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from keyring_idx.resolver.errors import ConfigError
from keyring_idx.resolver.select import (
    candidates,
    choose,
    make_target,
    prereleases_allowed,
)
from keyring_idx.resolver.simple import DistFile

FOO = canonicalize_name("foo")


def f(name: str, **kw: object) -> DistFile:
    return DistFile(filename=name, url=f"https://h/{name}", **kw)  # type: ignore[arg-type]


def pick(req: str, files: list[DistFile], python: str = "3.12", platform: str = "linux") -> str:
    target = make_target(python, platform)
    usable, _ = candidates(files, FOO, target)
    r = Requirement(req)
    choice = choose(r, usable, prereleases_allowed(r.specifier, [c.version for c in usable]))
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
    files = [f("foo-1.0-py3-none-any.whl"), f("foo-2.0b1-py3-none-any.whl")]
    assert pick("foo", files) == "1.0 foo-1.0-py3-none-any.whl"
    assert pick("foo>=2.0b1", files) == "2.0b1 foo-2.0b1-py3-none-any.whl"
    assert pick("foo>1.0", files) == "none"
    only_pre = [f("foo-0.1a1-py3-none-any.whl"), f("foo-0.2a1-py3-none-any.whl")]
    assert pick("foo", only_pre) == "0.2a1 foo-0.2a1-py3-none-any.whl"
    assert prereleases_allowed(Requirement("x==1.0.*").specifier, [Version("1.0")]) is False


def test_target_markers_and_errors() -> None:
    mac = make_target("3.10", "macos")
    assert mac.markers["sys_platform"] == "darwin"
    assert mac.markers["python_version"] == "3.10"
    with pytest.raises(ConfigError, match="python-platform"):
        make_target(None, "plan9")
    with pytest.raises(ConfigError, match="python-version"):
        make_target("three", None)
