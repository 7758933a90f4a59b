"""Building a dynamic sdist's metadata: the isolated environment and the PEP 517 hooks (the
real ``tinybuild`` backend, run in a child Python)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from demo.wheels import make_wheel
from keyring_idx.resolver.build import SdistBuilder, build_system, install_wheel, unpack_sdist
from keyring_idx.resolver.config import Index
from keyring_idx.resolver.errors import MetadataError
from keyring_idx.resolver.simple import DistFile
from tests.e2e.dists import backend_wheel, make_sdist

INDEX = Index(url="https://idx.example/simple")
BACKEND = DistFile("tinybuild-1.0-py3-none-any.whl", "https://idx.example/tinybuild.whl")


def tar(members: dict[str, bytes], kind: bytes = tarfile.REGTYPE) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.type = len(data), kind
            if kind == tarfile.SYMTYPE:
                info.linkname, info.size = "/etc/passwd", 0
                data = b""
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_unpack_refuses_escapes(tmp_path: Path) -> None:
    with pytest.raises(MetadataError):
        unpack_sdist(tar({"../evil": b"x"}), "a-1.tar.gz", tmp_path / "a")
    with pytest.raises(MetadataError):
        unpack_sdist(tar({"a-1/link": b""}, tarfile.SYMTYPE), "a-1.tar.gz", tmp_path / "b")
    assert not (tmp_path / "evil").exists()
    top = unpack_sdist(make_sdist("a", "1", [], static=True), "a-1.tar.gz", tmp_path / "c")
    assert (top / "PKG-INFO").is_file()


def test_install_wheel_puts_purelib_at_the_root(tmp_path: Path) -> None:
    data = make_wheel(
        "w",
        "1",
        files={"w/__init__.py": "", "w-1.data/purelib/extra.py": "", "w-1.data/scripts/run": ""},
    )
    env = tmp_path / "env"
    install_wheel(data, "w-1-py3-none-any.whl", env)
    assert (env / "w/__init__.py").is_file() and (env / "extra.py").is_file()
    assert not (env / "run").exists() and not (env / "w-1.data").exists()


def test_build_system_defaults_and_checks(tmp_path: Path) -> None:
    assert build_system(tmp_path, "x")[1] == "setuptools.build_meta:__legacy__"
    (tmp_path / "pyproject.toml").write_text('[build-system]\nrequires = "setuptools"\n')
    with pytest.raises(MetadataError, match="malformed"):
        build_system(tmp_path, "x")
    (tmp_path / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "b"\nbackend-path = ["../.."]\n'
    )
    with pytest.raises(MetadataError, match="outside"):
        build_system(tmp_path, "x")


def builder(asked: list[Sequence[str]]) -> SdistBuilder:
    def resolve(requires: Sequence[str]) -> list[tuple[Index, DistFile]]:
        asked.append(list(requires))
        return [(INDEX, BACKEND)]

    return SdistBuilder(resolve, lambda index, file: backend_wheel())


def test_prepare_metadata_runs_in_an_isolated_env() -> None:
    asked: list[Sequence[str]] = []
    data = make_sdist("dyn", "2.0", ["six>=1", 'x; extra == "y"'], static=False)
    meta = builder(asked)(INDEX, DistFile("dyn-2.0.tar.gz", "u"), data)
    assert (meta.name, str(meta.version), meta.source) == ("dyn", "2.0", "built")
    assert meta.requires_dist == ("six>=1", 'x; extra == "y"')
    assert asked == [["tinybuild"]]


def test_a_failing_backend_is_one_clear_error() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        body = b'[build-system]\nrequires = ["tinybuild"]\nbuild-backend = "no_such_backend"\n'
        info = tarfile.TarInfo("bad-1.0/pyproject.toml")
        info.size = len(body)
        tf.addfile(info, io.BytesIO(body))
    with pytest.raises(MetadataError, match=r"no_such_backend.*failed"):
        builder([])(INDEX, DistFile("bad-1.0.tar.gz", "u"), buf.getvalue())
