"""Which requirements a project run resolves, as ``uv lock`` and ``uv sync`` take them. Pure.

``uv lock`` resolves every member of the workspace with all its extras and dependency groups
at once, so a version is chosen under every requirement on its package (:func:`universe`);
``uv sync`` then installs the current member's dependencies, the extras asked for and the
default groups (``dev`` unless ``[tool.uv] default-groups`` says otherwise) plus the groups
asked for (:func:`selected`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from keyring_idx.resolver.errors import ConfigError

if TYPE_CHECKING:  # values only: reading them is config_files' business
    from keyring_idx.resolver.config_files import Member, Workspace


@dataclass(frozen=True, slots=True)
class Selection:
    """``uv sync``'s ``--extra``, ``--all-extras``, ``--group``, ``--all-groups``,
    ``--no-default-groups`` and ``--no-dev``."""

    extras: tuple[str, ...] = ()
    all_extras: bool = False
    groups: tuple[str, ...] = ()
    all_groups: bool = False
    no_default_groups: bool = False
    no_dev: bool = False


def _all_of(member: Member) -> list[str]:
    return [
        *member.dependencies,
        *(r for reqs in member.extras.values() for r in reqs),
        *(r for reqs in member.groups.values() for r in reqs),
    ]


def universe(workspace: Workspace) -> list[str]:
    """Every requirement ``uv lock`` resolves together: all members, extras and groups."""
    return [r for m in workspace.members for r in _all_of(m)]


def default_groups(workspace: Workspace) -> tuple[str, ...]:
    for member in (workspace.current, *workspace.members):
        if member.default_groups is not None:
            if member.default_groups == ("*",):
                return tuple(workspace.current.groups)
            return member.default_groups
    return ("dev",)


def selected(workspace: Workspace, selection: Selection) -> tuple[list[str], list[str]]:
    """The current member's requirements ``uv sync`` installs, and what was picked (for
    ``--explain``: ``dependencies``, ``extra x``, ``group dev``)."""
    member = workspace.current
    where = member.path
    requirements = list(member.dependencies)
    picked = ["dependencies"]
    extras = list(member.extras) if selection.all_extras else selection.extras
    for extra in extras:
        name = canonicalize_name(extra)
        if name not in member.extras:
            raise ConfigError(
                f"extra {extra!r} is not defined in [project.optional-dependencies] of {where}"
            )
        requirements += member.extras[name]
        picked.append(f"extra {name}")
    groups: list[str] = []
    if selection.all_groups:
        groups = list(member.groups)
    else:
        if not (selection.no_default_groups or selection.no_dev):
            groups += [g for g in default_groups(workspace) if g in member.groups]
        for group in selection.groups:
            name = canonicalize_name(group)
            if name not in member.groups:
                raise ConfigError(
                    f"group {group!r} is not defined in [dependency-groups] of {where}"
                )
            groups.append(name)
    if selection.no_dev:
        groups = [g for g in groups if g != "dev"]
    for group in dict.fromkeys(groups):
        requirements += member.groups[group]
        picked.append(f"group {group}")
    return requirements, picked
