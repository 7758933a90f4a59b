"""Dependency-confusion risks of a resolved graph. Pure: the resolution, which indexes serve
each name, and uv's settings in; risks out.

Kinds (each names the package, the index it would come from, the one it should come from and
the ``pyproject.toml`` lines that fix it):

- ``wrong-index`` (a): a private index serves the package but the resolution takes it from
  another index. Typically a dependency of a package pinned to an explicit private index: uv
  applies ``tool.uv.sources`` to the project's direct dependencies only, so the private
  package's own dependencies come from the search order.
- ``unsafe-strategy`` (b): under ``unsafe-first-match`` / ``unsafe-best-match`` a name that
  both a private and the public index serve, not pinned: uv compares or merges both indexes.
- ``claimable`` (c): a name only a private index serves, not pinned: whoever publishes that
  name on the public index changes what uv installs (or, when uv cannot find it today, makes
  the install work with their package). Under ``first-index`` an implicit private index ahead
  of the public one still counts: uv goes on to the public index whenever the private one
  answers 404, which several hosted registries do for a missing or under-privileged token.

"Public" is the index uv searches last for an unpinned package (the default index, PyPI unless
configured); every other configured index is private.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any, Literal

from packaging.utils import NormalizedName

from keyring_idx.resolver.config import Index, Settings

Kind = Literal["wrong-index", "unsafe-strategy", "claimable"]


@dataclass(frozen=True, slots=True)
class Placed:
    """Where the resolution takes one package from."""

    name: NormalizedName
    version: str
    index: Index
    required_by: tuple[str, ...] = ()
    found_outside_search: bool = False  # uv would not find it at all today


@dataclass(frozen=True, slots=True)
class Risk:
    """One dependency-confusion risk and the sources lines that fix it."""

    package: NormalizedName
    kind: Kind
    index: str  # where it would come from
    expected_index: str  # where it should come from
    fix: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "kind": self.kind,
            "index": self.index,
            "expected_index": self.expected_index,
            "fix": self.fix,
        }


def public_index(settings: Settings) -> Index:
    return settings.default_index()


def pinned(name: NormalizedName, settings: Settings, direct: Set[NormalizedName]) -> bool:
    """uv honours a ``tool.uv.sources`` index pin for a direct dependency only."""
    return name in direct and any(p.index is not None for p in settings.sources.get(name, ()))


def _label(index: Index) -> str:
    return index.name or index.display_url


def fix_lines(name: NormalizedName, index: Index, direct: bool) -> str:
    """The ``pyproject.toml`` lines that take ``name`` from ``index`` only."""
    lines: list[str] = []
    index_name = index.name
    if index_name is None:
        index_name = "private"
        lines += [
            "[[tool.uv.index]]",
            f'name = "{index_name}"',
            f'url = "{index.display_url}"',
            "explicit = true",
        ]
    if not direct:
        lines += [
            "[project]",
            f'dependencies = [..., "{name}"]  # sources apply to direct dependencies only',
        ]
    lines += ["[tool.uv.sources]", f'{name} = {{ index = "{index_name}" }}']
    return "\n".join(lines)


def find_risks(
    placed: Sequence[Placed],
    serving: Mapping[NormalizedName, Sequence[Index]],
    settings: Settings,
    direct: Set[NormalizedName],
) -> list[Risk]:
    public = public_index(settings)
    out: list[Risk] = []
    for p in placed:
        servers = serving.get(p.name, ())
        private = [i for i in servers if i.url != public.url]
        if not private:
            continue
        on_public = any(i.url == public.url for i in servers)
        is_direct = p.name in direct
        fix = fix_lines(p.name, private[0], is_direct)
        expected = private[0].display_url
        chosen_private = any(i.url == p.index.url for i in private)
        via = f" (required by {', '.join(p.required_by)})" if p.required_by else ""
        if not chosen_private:
            out.append(
                Risk(
                    p.name,
                    "wrong-index",
                    p.index.display_url,
                    expected,
                    fix,
                    f"{p.name}{via} is served by private index {_label(private[0])} but uv "
                    f"takes {p.version} from {_label(p.index)}",
                )
            )
            continue
        if pinned(p.name, settings, direct):
            continue
        if on_public and settings.strategy != "first-index":
            out.append(
                Risk(
                    p.name,
                    "unsafe-strategy",
                    public.display_url,
                    expected,
                    fix,
                    f"{p.name}{via} is on private index {_label(private[0])} and on public "
                    f"{_label(public)}; {settings.strategy} lets the public one win",
                )
            )
        elif not on_public:
            today = (
                "uv cannot find it today; the first upload there is what uv installs"
                if p.found_outside_search
                else "whoever publishes it there changes what uv installs"
            )
            out.append(
                Risk(
                    p.name,
                    "claimable",
                    public.display_url,
                    expected,
                    fix,
                    f"{p.name}{via} is only on private index {_label(private[0])}, not pinned, "
                    f"and free on public {_label(public)}: {today}",
                )
            )
    return out
