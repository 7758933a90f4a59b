"""What one ``idx-auth resolve`` run resolves, under which of uv's two models.

- ``project`` (``uv lock`` / ``uv sync``): a pyproject.toml with ``[project]`` or a workspace
  is found from the project directory and ``--pip`` is not given. Settings and sources come
  from the workspace; the requirements from the current member (``uv sync``'s selection),
  with versions chosen under every requirement the lock resolves together -- or the ones given
  on the command line, resolved alone with the project's settings and sources.
- ``pip`` (``uv pip compile``): no project, or ``--pip``. The requirements given, or with none
  the nearest pyproject.toml's dependencies and ``tool.uv.sources`` (``uv pip compile
  pyproject.toml``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from keyring_idx.resolver.config import UV_VERSION, CliOptions, Layer, Settings, build_settings
from keyring_idx.resolver.config_files import (
    Project,
    Workspace,
    read_layers,
    read_member,
    read_project,
    read_workspace,
)
from keyring_idx.resolver.outcome import Result
from keyring_idx.resolver.resolve import Wanted, merge_requirements
from keyring_idx.resolver.select import Target
from keyring_idx.resolver.selection import Selection, selected, universe

if TYPE_CHECKING:
    from keyring_idx.resolver.outcome import Pin


@dataclass(frozen=True, slots=True)
class Plan:
    """What one resolve run asks: settings, requirements, graph roots, model."""

    settings: Settings
    items: tuple[Wanted | Result, ...]  # the packages, requirements merged (--no-deps)
    requirements: tuple[str, ...]  # the requirement strings selected
    roots: tuple[str, ...]  # the graph's roots: everything resolved together, see graph_roots
    where: str  # the project file or directory, for messages
    header: Mapping[str, object] = field(default_factory=dict)  # model, uv version, project


def names_of(texts: Sequence[str]) -> set[str]:
    names: set[str] = set()
    for text in texts:
        try:
            names.add(canonicalize_name(Requirement(text).name))
        except InvalidRequirement:
            continue
    return names


def plan_run(
    project_dir: Path,
    env: Mapping[str, str],
    cli: CliOptions,
    requirements: list[str],
    selection: Selection,
    target: Target,
    pip: bool,
) -> Plan:
    workspace = None if pip else read_workspace(project_dir)
    if workspace is not None:
        settings = lock_settings(workspace, read_layers(project_dir, env, workspace), env, cli)
        if requirements:
            # with the project's settings and sources, without the rest of its lock
            wanted, picked = requirements, ["the requirements given, with the project's settings"]
            everything = requirements
        else:
            wanted, picked = selected(workspace, selection)
            everything = universe(workspace)
        where = str(workspace.current.path)
    else:
        project = read_project(project_dir)
        # `uv pip compile pyproject.toml` reads the project's sources; requirements given on
        # the command line are read without them
        sources = project.sources if not requirements else {}
        settings = build_settings(
            cli,
            env,
            read_layers(project_dir, env),
            sources,
            mode="pip",
            base_dir=str(project_dir),
        )
        member = None if requirements else read_member(project_dir)
        if member is not None:
            # uv pip compile: --extra and --group add to the dependencies; no default groups
            alone = Workspace(member.path.parent, (member,), member, None)
            pip_selection = dataclasses.replace(selection, no_default_groups=True)
            wanted, picked = selected(alone, pip_selection)
        else:
            wanted = requirements or list(project.dependencies)
            picked = ["the requirements given"] if requirements else ["[project] dependencies"]
        everything = wanted
        where = str(project.path or project_dir)
    keep = names_of(wanted)
    merged = merge_requirements(everything, target, settings.constraints, settings.overrides)
    items = tuple(
        m for m in merged if (m.name is None and m.requirement in wanted) or m.name in keep
    )
    header: dict[str, object] = {
        "model": settings.model,
        "uv_version": UV_VERSION,
        "project": where if workspace is not None else None,
        "selected": picked,
    }
    roots = graph_roots(everything, settings.constraints, settings.overrides)
    return Plan(settings, items, tuple(wanted), tuple(roots), where, header)


def lock_settings(
    workspace: Workspace, layers: Sequence[Layer], env: Mapping[str, str], cli: CliOptions
) -> Settings:
    """The settings ``uv lock`` resolves ``workspace`` with: the root's ``layers``
    (:func:`read_layers` with the workspace) and sources, the project model's index order, pins
    only to indexes the pyproject files declare."""
    return build_settings(
        cli,
        env,
        layers,
        workspace.sources(),
        mode="project",
        project_indexes=workspace.pin_indexes,
        base_dir=str(workspace.root),
    )


def lock_scope(
    project_dir: Path, env: Mapping[str, str], project: Project
) -> tuple[Settings, tuple[Layer, ...], tuple[str, ...]]:
    """What ``idx-auth audit`` and ``doctor`` check for the project at ``project_dir``, as
    ``idx-auth resolve`` would resolve it: in a workspace, ``uv lock``'s settings and every
    requirement of the lock (all members, extras and groups); else (a pyproject.toml without
    ``[project]``) the pip model's settings and ``project``'s dependencies. Also the layers
    the settings came from."""
    workspace = read_workspace(project_dir)
    if workspace is None:
        layers = tuple(read_layers(project_dir, env))
        settings = build_settings(
            CliOptions(), env, layers, project.sources, mode="pip", base_dir=str(project_dir)
        )
        return settings, layers, project.dependencies
    layers = tuple(read_layers(project_dir, env, workspace))
    settings = lock_settings(workspace, layers, env, CliOptions())
    roots = graph_roots(universe(workspace), settings.constraints, settings.overrides)
    return settings, layers, tuple(roots)


def graph_roots(
    texts: Sequence[str], constraints: Sequence[str], overrides: Sequence[str]
) -> list[str]:
    """The graph's roots: every requirement resolved together (in the project model all of the
    lock's), an override replacing the requirements on its package, a constraint added where
    its package is required anyway. Pure."""

    def by_name(items: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for text in items:
            try:
                out.setdefault(canonicalize_name(Requirement(text).name), []).append(text)
            except InvalidRequirement:
                out.setdefault("", []).append(text)
        return out

    required, replaced, narrowed = by_name(texts), by_name(overrides), by_name(constraints)
    roots: list[str] = []
    for name, reqs in required.items():
        roots += replaced.get(name, reqs) if name else reqs
        if name:
            roots += narrowed.get(name, [])
    return roots


def selected_pins(pins: Sequence[Pin], names: set[str]) -> list[Pin]:
    """The pins ``uv sync`` installs out of a lock-wide graph: those reachable from the
    selected requirements' packages."""
    children: dict[str, list[str]] = {}
    for pin in pins:
        for parent in pin.required_by:
            children.setdefault(parent, []).append(pin.name)
    keep: set[str] = set()
    todo = [n for n in names if any(p.name == n for p in pins)]
    while todo:
        name = todo.pop()
        if name not in keep:
            keep.add(name)
            todo += children.get(name, [])
    return [p for p in pins if p.name in keep]
