"""Metadata of an sdist whose dependencies are dynamic, got as uv gets it: the PEP 517 hook
``prepare_metadata_for_build_wheel`` (or ``build_wheel`` when the backend lacks it) run in an
isolated build environment.

The environment is a fresh directory holding the build requirements (``[build-system]
requires``, then what ``get_requires_for_build_wheel`` adds), resolved from the same indexes
with the same credentials by the caller's ``resolve`` and unpacked from their wheels; the hook
runs in a child ``python -S`` (no site-packages of ours or the user's) with only that directory
and the backend's ``backend-path`` on ``sys.path``, in the unpacked sdist, with an environment
that carries no credentials. Build requirements come from wheels only.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

from keyring_idx.resolver.config import Index
from keyring_idx.resolver.errors import MetadataError
from keyring_idx.resolver.metadata import (
    CoreMetadata,
    archive_errors,
    parse_core_metadata,
    wheel_metadata,
)
from keyring_idx.resolver.simple import DistFile

DEFAULT_REQUIRES = ("setuptools>=40.8.0",)
DEFAULT_BACKEND = "setuptools.build_meta:__legacy__"
HOOK_TIMEOUT = 300.0

# Runs in the child: import the backend, call one hook, write its answer to a file (backends
# print freely on stdout).
_RUNNER = """
import importlib, json, sys
args = json.loads(sys.argv[1])
sys.path[:0] = args["paths"]
module, _, attrs = args["backend"].partition(":")
backend = importlib.import_module(module)
for attr in filter(None, attrs.split(".")):
    backend = getattr(backend, attr)
hook = args["hook"]
if hook == "get_requires_for_build_wheel":
    fn = getattr(backend, hook, None)
    result = list(fn({})) if fn else []
else:
    fn = getattr(backend, "prepare_metadata_for_build_wheel", None)
    if fn is not None:
        result = {"dir": fn(args["out"], {})}
    else:
        result = {"wheel": backend.build_wheel(args["out"], {})}
with open(args["result"], "w") as f:
    json.dump(result, f)
"""

Wheel = tuple[Index, DistFile]


def _safe(name: str) -> PurePosixPath | None:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    return path


def unpack_sdist(data: bytes, filename: str, dest: Path) -> Path:
    """Extract an sdist (refusing links and paths outside ``dest``); its project directory."""
    try:
        if filename.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist():
                    path = _safe(info.filename)
                    if path is None:
                        raise MetadataError(f"{filename}: member {info.filename!r} escapes")
                    if not info.is_dir():
                        target = dest.joinpath(*path.parts)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(zf.read(info))
        else:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
                tf.extractall(dest, filter="data")
    except archive_errors() as exc:
        raise MetadataError(f"{filename}: cannot unpack the sdist ({type(exc).__name__})") from None
    tops = [p for p in dest.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise MetadataError(f"{filename}: expected one top-level directory in the sdist")
    return tops[0]


def install_wheel(data: bytes, filename: str, env: Path) -> None:
    """Unpack a wheel's importable files into ``env`` (purelib and platlib at the root)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                path = _safe(info.filename)
                if path is None:
                    raise MetadataError(f"{filename}: member {info.filename!r} escapes")
                parts = path.parts
                if parts[0].endswith(".data"):
                    if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                        continue  # scripts, headers, data: not needed to import a backend
                    parts = parts[2:]
                if info.is_dir():
                    continue
                target = env.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(info))
    except archive_errors() as exc:
        raise MetadataError(f"{filename}: cannot unpack ({type(exc).__name__})") from None


def build_system(project: Path, what: str) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """(requires, backend, backend-path) from pyproject.toml, with PEP 517's defaults."""
    pyproject = project / "pyproject.toml"
    if not pyproject.is_file():
        return DEFAULT_REQUIRES, DEFAULT_BACKEND, ()
    try:
        table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("build-system", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        raise MetadataError(f"{what}: its pyproject.toml is not valid TOML") from None
    requires = table.get("requires", list(DEFAULT_REQUIRES))
    backend = table.get("build-backend", DEFAULT_BACKEND)
    paths = table.get("backend-path", [])
    if (
        not isinstance(requires, list)
        or not all(isinstance(r, str) for r in requires)
        or not isinstance(backend, str)
        or not isinstance(paths, list)
        or not all(isinstance(p, str) for p in paths)
    ):
        raise MetadataError(f"{what}: [build-system] in pyproject.toml is malformed")
    for p in paths:
        if (project / p).resolve().is_relative_to(project.resolve()) is False:
            raise MetadataError(f"{what}: backend-path {p!r} points outside the sdist")
    return tuple(requires), backend, tuple(str((project / p).resolve()) for p in paths)


class SdistBuilder:
    """``build(index, file, data)`` -> the sdist's metadata, built in an isolated env.

    ``resolve`` turns build requirements into wheels (index and file); ``download`` fetches a
    file with the index's credential, its hash checked.
    """

    def __init__(
        self,
        resolve: Callable[[Sequence[str]], Sequence[Wheel]],
        download: Callable[[Index, DistFile], bytes],
        *,
        python: str = sys.executable,
        timeout: float = HOOK_TIMEOUT,
    ) -> None:
        self._resolve = resolve
        self._download = download
        self._python = python
        self._timeout = timeout

    def __call__(self, index: Index, file: DistFile, data: bytes) -> CoreMetadata:
        what = file.filename
        with tempfile.TemporaryDirectory(prefix="idx-auth-build-") as tmp:
            root = Path(tmp)
            project = unpack_sdist(data, file.filename, root / "src")
            requires, backend, paths = build_system(project, what)
            env = root / "env"
            env.mkdir()
            self._install(requires, env, what)
            extra = self._hook(project, root, backend, paths, env, "get_requires_for_build_wheel")
            if not isinstance(extra, list) or not all(isinstance(r, str) for r in extra):
                raise MetadataError(f"{what}: get_requires_for_build_wheel returned a non-list")
            if extra:
                self._install(extra, env, what)
            out = root / "out"
            out.mkdir()
            answer = self._hook(project, root, backend, paths, env, "prepare_metadata")
            return self._read(answer, out, what)

    def _install(self, requires: Sequence[str], env: Path, what: str) -> None:
        if not requires:
            return
        for index, wheel in self._resolve(requires):
            if not wheel.filename.endswith(".whl"):
                raise MetadataError(
                    f"{what}: build requirement {wheel.filename} has no wheel for this "
                    "Python; build requirements are installed from wheels only"
                )
            install_wheel(self._download(index, wheel), wheel.filename, env)

    def _hook(
        self, project: Path, root: Path, backend: str, paths: Sequence[str], env: Path, hook: str
    ) -> object:
        result = root / f"{hook}.json"
        args = {
            "paths": [*paths, str(env)],
            "backend": backend,
            "hook": hook,
            "out": str(root / "out"),
            "result": str(result),
        }
        child_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(root),
            "TMPDIR": str(root),
            "PYTHONNOUSERSITE": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        try:
            proc = subprocess.run(
                [self._python, "-S", "-c", _RUNNER, json.dumps(args)],
                cwd=project,
                env=child_env,
                capture_output=True,
                timeout=self._timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise MetadataError(
                f"{project.name}: the build backend's {hook} ran longer than "
                f"{self._timeout:.0f}s; the build was stopped"
            ) from None
        if proc.returncode != 0 or not result.is_file():
            tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["-"]
            raise MetadataError(
                f"{project.name}: the build backend {backend!r} failed in {hook} "
                f"(exit {proc.returncode}: {tail[0][:200]}); pass --no-build to skip building, "
                "or check the sdist's build requirements"
            )
        try:
            return json.loads(result.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            raise MetadataError(f"{project.name}: the build hook gave no readable answer") from None

    def _read(self, answer: object, out: Path, what: str) -> CoreMetadata:
        if isinstance(answer, dict) and isinstance(answer.get("dir"), str):
            path = _safe(answer["dir"])
            meta = out.joinpath(*path.parts, "METADATA") if path else None
            if meta is None or not meta.is_file():
                raise MetadataError(f"{what}: the backend wrote no METADATA")
            return parse_core_metadata(meta.read_bytes(), what, "built")
        if isinstance(answer, dict) and isinstance(answer.get("wheel"), str):
            path = _safe(answer["wheel"])
            wheel = out.joinpath(*path.parts) if path else None
            if wheel is None or not wheel.is_file():
                raise MetadataError(f"{what}: the backend built no wheel")
            try:
                with zipfile.ZipFile(wheel) as zf:
                    return parse_core_metadata(wheel_metadata(zf, what), what, "built")
            except archive_errors() as exc:
                raise MetadataError(f"{what}: the backend built a broken wheel ({exc})") from None
        raise MetadataError(f"{what}: the build hook gave an unexpected answer")
