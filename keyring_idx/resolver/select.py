"""Which version and which file, given a requirement, a file list and a target environment.

Pure, over :mod:`packaging`. Rules as the uv 0.13.9 binary applies them:
- only files for the project, with a valid wheel or sdist name, whose ``requires-python`` lower
  bound admits the target Python (upper bounds such as ``<3.11`` are ignored, as uv ignores
  them), and (for wheels) whose tags the target supports;
- with ``exclude-newer``, only files uploaded before it; a file without an upload time is left
  out too;
- yanked files only for an exact ``==`` / ``===`` pin;
- pre-releases by the ``prerelease`` setting: a stable version that satisfies the specifier
  always wins; ``if-necessary`` (the default; ``if-necessary-or-explicit`` is its deprecated
  alias) falls back to a pre-release when none does, ``explicit`` only when the specifier
  names a pre-release, ``disallow`` never, and ``allow`` ranks them with the rest;
- the highest version (``resolution = "lowest"`` or ``"lowest-direct"``: the lowest) with a
  usable file; the best wheel by tag priority, else the sdist.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Literal

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags, sys_tags
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from keyring_idx.resolver.config import Prerelease, Resolution
from keyring_idx.resolver.errors import ConfigError
from keyring_idx.resolver.simple import DistFile

Kind = Literal["wheel", "sdist"]

# --python-platform values we understand: uv's names -> (sys_platform, machine, platform tags).


def _linux(machine: str, glibc_minor: int = 28) -> tuple[str, str, tuple[str, ...]]:
    tags = [f"manylinux_2_{m}_{machine}" for m in range(glibc_minor, 16, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags += [f"{legacy[m]}_{machine}" for m in (17, 12, 5) if m <= glibc_minor]
    tags.append(f"linux_{machine}")
    return "linux", machine, tuple(tags)


def _macos(machine: str) -> tuple[str, str, tuple[str, ...]]:
    arch = "arm64" if machine == "arm64" else "x86_64"
    tags = [f"macosx_{v}_0_{a}" for v in range(15, 10, -1) for a in (arch, "universal2")]
    tags += [f"macosx_10_{m}_{a}" for m in range(15, 8, -1) for a in (arch, "universal2")]
    return "darwin", machine, tuple(tags)


_PLATFORMS: Mapping[str, tuple[str, str, tuple[str, ...]]] = {
    "linux": _linux("x86_64"),
    "x86_64-unknown-linux-gnu": _linux("x86_64"),
    "x86_64-manylinux_2_28": _linux("x86_64"),
    "aarch64-unknown-linux-gnu": _linux("aarch64"),
    "aarch64-manylinux_2_28": _linux("aarch64"),
    "macos": _macos("arm64"),
    "aarch64-apple-darwin": _macos("arm64"),
    "x86_64-apple-darwin": _macos("x86_64"),
    "windows": ("win32", "AMD64", ("win_amd64",)),
    "x86_64-pc-windows-msvc": ("win32", "AMD64", ("win_amd64",)),
}


_ANY_RANK = 1_000_000  # every "-none-any" tag ranks after every platform tag, as in sys_tags


@dataclass(frozen=True)
class Target:
    """The environment files are chosen for: Python version, markers, wheel tags by priority.

    ``tag_source`` gives the platform-specific tags, best first; it is called only when a
    platform wheel turns up, because computing them (glibc detection, ~1000 tags) costs more
    than resolving a whole page of pure-Python wheels.
    """

    python_version: Version
    markers: Mapping[str, str]
    tag_source: Callable[[], Iterable[Tag]]

    @cached_property
    def _platform_rank(self) -> Mapping[Tag, int]:
        ranks: dict[Tag, int] = {}
        for tag in self.tag_source():
            if tag.platform != "any":
                ranks.setdefault(tag, len(ranks))
        return ranks

    @cached_property
    def _any_rank(self) -> Mapping[Tag, int]:
        v = self.python_version.release
        interpreter = f"cp{v[0]}{(*v, 0)[1]}"
        tags = compatible_tags((v[0], (*v, 0)[1]), interpreter=interpreter, platforms=[])
        return {tag: _ANY_RANK + i for i, tag in enumerate(tags)}

    def rank(self, tags: Iterable[Tag]) -> int | None:
        """Priority of the best supported tag (lower is better), None if none is supported."""
        best: int | None = None
        for tag in tags:
            r = (self._any_rank if tag.platform == "any" else self._platform_rank).get(tag)
            if r is not None and (best is None or r < best):
                best = r
        return best

    @property
    def tags(self) -> tuple[Tag, ...]:
        return (*self._platform_rank, *self._any_rank)


def host_target() -> Target:
    from packaging.markers import default_environment

    v = sys.version_info
    return Target(
        python_version=Version(f"{v.major}.{v.minor}.{v.micro}"),
        markers={k: str(v) for k, v in default_environment().items()},
        tag_source=sys_tags,
    )


def make_target(python_version: str | None, python_platform: str | None) -> Target:
    """The host, or the Python version / platform given as uv's flags would describe them."""
    if python_version is None and python_platform is None:
        return host_target()
    base = host_target()
    version = base.python_version
    if python_version is not None:
        try:
            version = Version(python_version)
        except InvalidVersion:
            raise ConfigError(
                f"--python-version {python_version!r} is not a version; use X.Y like 3.12"
            ) from None
    major, minor = version.release[0], (*version.release, 0)[1]
    markers = dict(base.markers)
    markers["python_version"] = f"{major}.{minor}"
    markers["python_full_version"] = str(version)
    platforms: Sequence[str] | None = None
    if python_platform is not None:
        try:
            sys_platform, machine, platforms = _PLATFORMS[python_platform]
        except KeyError:
            raise ConfigError(
                f"--python-platform {python_platform!r} is not known; use one of "
                + ", ".join(sorted(_PLATFORMS))
            ) from None
        markers["sys_platform"] = sys_platform
        markers["platform_machine"] = machine
        markers["platform_system"] = {"linux": "Linux", "darwin": "Darwin"}.get(
            sys_platform, "Windows"
        )
        markers["os_name"] = "nt" if sys_platform == "win32" else "posix"
    py = (major, minor)

    def tag_source() -> Iterable[Tag]:
        plats = platforms
        if plats is None:
            plats = list(dict.fromkeys(t.platform for t in sys_tags()))
        return (*cpython_tags(py, platforms=plats), *compatible_tags(py, platforms=plats))

    return Target(python_version=version, markers=markers, tag_source=tag_source)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file of the project with its parsed name and version."""

    version: Version
    kind: Kind
    file: DistFile
    tag_rank: int | None  # None for sdists


def candidates(
    files: Iterable[DistFile], project: NormalizedName, target: Target
) -> tuple[list[Candidate], list[str]]:
    """Usable files of ``project`` for ``target``, and why others were left out (one line each)."""
    usable: list[Candidate] = []
    notes: list[str] = []
    for f in files:
        parsed = _parse_filename(f.filename)
        if parsed is None:
            continue
        kind, name, version, tags = parsed
        if name != project:
            continue
        if f.requires_python and not python_admits(f.requires_python, target.python_version):
            notes.append(f"{f.filename}: requires-python {f.requires_python}")
            continue
        tag_rank = None
        if kind == "wheel":
            tag_rank = target.rank(tags)
            if tag_rank is None:
                notes.append(f"{f.filename}: no wheel tag for the target")
                continue
        usable.append(Candidate(version=version, kind=kind, file=f, tag_rank=tag_rank))
    return usable, notes


@lru_cache(maxsize=16384)
def _parse_filename(
    filename: str,
) -> tuple[Kind, NormalizedName, Version, frozenset[Tag]] | None:
    """A distribution's kind, name, version and tags from its filename (None: not one we use).
    Cached: each page's files are read by the per-package walk and again for the graph."""
    try:
        if filename.endswith(".whl"):
            name, version, _, tags = parse_wheel_filename(filename)
            return "wheel", name, version, tags
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return "sdist", name, version, frozenset()
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        pass
    return None


@lru_cache(maxsize=1024)
def _lower_bound(requires_python: str) -> tuple[Version, bool] | None:
    """The lower bound of a ``requires-python`` (version, inclusive), None if it has none."""
    try:
        spec = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return None
    bound: tuple[Version, bool] | None = None
    for s in spec:
        text = s.version.removesuffix(".*")
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        if s.operator in (">=", "~=", "==", "==="):
            candidate = (version, True)
        elif s.operator == ">":
            candidate = (version, False)
        else:
            continue  # <, <=, != : uv does not let upper bounds or exclusions drop a file
        if bound is None or candidate[0] > bound[0]:
            bound = candidate
    return bound


def python_admits(requires_python: str, python: Version) -> bool:
    """Whether a file's ``requires-python`` admits ``python`` as uv judges it: by its lower
    bound only (uv 0.13.9 takes ``2.0`` with ``requires-python = "<3.11"`` on Python 3.11)."""
    bound = _lower_bound(requires_python)
    if bound is None:
        return True
    version, inclusive = bound
    return python >= version if inclusive else python > version


def _exact_pin(spec: SpecifierSet) -> bool:
    return any(s.operator in ("==", "===") and "*" not in s.version for s in spec)


def _explicit_prerelease(spec: SpecifierSet) -> bool:
    for s in spec:
        try:
            if Version(s.version.rstrip(".*")).is_prerelease:
                return True
        except InvalidVersion:
            continue
    return False


@dataclass(frozen=True, slots=True)
class Choice:
    """The version uv takes and its usable files."""

    version: Version
    best: DistFile
    files: tuple[DistFile, ...]  # every usable file of that version, best first


@dataclass(frozen=True, slots=True)
class VersionPolicy:
    """uv's version preferences: ``prerelease``, ``resolution`` and ``exclude-newer``."""

    prerelease: Prerelease = "if-necessary-or-explicit"
    resolution: Resolution = "highest"
    exclude_newer: str | None = None  # ``YYYY-MM-DDTHH:MM:SSZ``

    def admits_upload(self, upload_time: str | None) -> bool:
        if self.exclude_newer is None:
            return True
        if upload_time is None:
            return False  # uv warns "missing an upload date" and leaves the file out
        return _utc(upload_time) < self.exclude_newer


def _utc(value: str) -> str:
    from datetime import UTC, datetime

    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return "9999"  # unreadable: treat as newer than any cut-off
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def allowed_versions(
    spec: SpecifierSet, versions: Iterable[Version], policy: VersionPolicy
) -> list[Version]:
    """The versions uv may take for ``spec``, best first: stable ones that satisfy it; when
    there are none, pre-releases as ``policy.prerelease`` permits; ``allow`` ranks all."""
    matching = [v for v in set(versions) if spec.contains(v, prereleases=True)]
    stable = [v for v in matching if not v.is_prerelease]
    mode = policy.prerelease
    if mode == "allow":
        pool = matching
    elif stable or mode == "disallow":
        pool = stable
    elif mode == "explicit":
        pool = matching if _explicit_prerelease(spec) else []
    else:  # if-necessary, if-necessary-or-explicit
        pool = matching
    return sorted(pool, reverse=policy.resolution == "highest")


def prereleases_allowed(spec: SpecifierSet, versions: Iterable[Version]) -> bool:
    """Whether uv's default policy may take a pre-release here: when no stable version
    satisfies ``spec``."""
    allowed = allowed_versions(spec, versions, VersionPolicy())
    return bool(allowed) and allowed[0].is_prerelease


def eligible(
    spec: SpecifierSet, usable: Iterable[Candidate], policy: VersionPolicy
) -> list[Candidate]:
    """Candidates not excluded by yanking (unless pinned exactly) or by ``exclude-newer``."""
    allow_yanked = _exact_pin(spec)
    return [
        c
        for c in usable
        if (allow_yanked or not c.file.yanked) and policy.admits_upload(c.file.upload_time)
    ]


def choose(
    requirement: Requirement | SpecifierSet,
    usable: Sequence[Candidate],
    policy: VersionPolicy | bool = VersionPolicy(),
) -> Choice | None:
    """The version uv takes from ``usable`` and its best file, or None.

    Pre-releases are judged over ``usable`` as given: pass every index's candidates together
    where uv weighs them together (the ``unsafe-*`` strategies). A bool ``policy`` is the
    old form: True allows pre-releases, False applies the default policy.
    """
    spec = requirement.specifier if isinstance(requirement, Requirement) else requirement
    if isinstance(policy, bool):
        policy = VersionPolicy(prerelease="allow" if policy else "if-necessary")
    by_version: dict[Version, list[Candidate]] = {}
    for c in eligible(spec, usable, policy):
        by_version.setdefault(c.version, []).append(c)
    for version in allowed_versions(spec, by_version, policy):
        files = sorted(by_version[version], key=file_order)
        return Choice(version=version, best=files[0].file, files=tuple(c.file for c in files))
    return None


def file_order(c: Candidate) -> tuple[int, int, str]:
    # Wheels by tag priority, then the sdist; the filename keeps the order stable.
    if c.kind == "wheel":
        return (0, c.tag_rank or 0, c.file.filename)
    return (1, 0, c.file.filename)
