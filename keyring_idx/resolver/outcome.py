"""What resolving came to: per requirement resolved, unresolved or skipped, with the indexes
asked on the way; for the whole graph its pins. Pure values, shared by the resolver
(:mod:`.resolve`, :mod:`.graph`), which makes them, and what shows or writes them
(:mod:`.report`, :mod:`.graph_report`, :mod:`.lock`, :mod:`.audit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from packaging.utils import NormalizedName

from keyring_idx.resolver.config import Index
from keyring_idx.resolver.credentials import CredentialKind
from keyring_idx.resolver.simple import DistFile

__all__ = ["Graph", "Pin", "Resolved", "Result", "Skipped", "Step", "Unresolved"]


@dataclass(frozen=True, slots=True)
class Step:
    """One index asked for one package, for ``--explain``."""

    index: Index
    url: str
    status: int | None
    credential: CredentialKind
    outcome: str  # found / absent / stop / error / chosen / skipped ...
    detail: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Resolved:
    """A requirement settled: the version, the index and the files uv would take."""

    requirement: str
    name: NormalizedName
    version: str
    index: Index
    file: DistFile
    files: tuple[DistFile, ...]
    credential: CredentialKind
    why: str
    steps: tuple[Step, ...]

    @property
    def hashes(self) -> tuple[str, ...]:
        return file_hashes(self.files)


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A requirement no index could satisfy, and why."""

    requirement: str
    name: NormalizedName | None
    reason: str
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True, slots=True)
class Skipped:
    """A requirement no index is asked for: its marker excludes the target environment, or
    ``tool.uv.sources`` gives it a git, path, url or workspace source."""

    requirement: str
    name: NormalizedName
    reason: str
    label: str = "marker"  # what the table shows: "marker", or the kind of source


Result = Resolved | Unresolved | Skipped


@dataclass(frozen=True, slots=True)
class Pin:
    """One package of the resolved graph."""

    name: NormalizedName
    version: str
    index: Index
    file: DistFile
    files: tuple[DistFile, ...]
    credential: CredentialKind
    required_by: tuple[str, ...]
    why: str
    steps: tuple[Step, ...]
    metadata_source: str
    requirements: tuple[str, ...]  # the specifiers that constrained it, with who asked
    fallback: bool = False

    @property
    def hashes(self) -> tuple[str, ...]:
        return file_hashes(self.files)


@dataclass(frozen=True, slots=True)
class Graph:
    """A whole-graph resolution: the pins, or the failures."""

    pins: tuple[Pin, ...]
    skipped: tuple[Skipped, ...]
    failures: tuple[Unresolved, ...]


def file_hashes(files: Sequence[DistFile]) -> tuple[str, ...]:
    """``algorithm:digest`` of every file, each once, in order."""
    return tuple(dict.fromkeys(f"{k}:{v}" for f in files for k, v in f.hashes))
