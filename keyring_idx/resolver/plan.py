"""What one ``idx-auth resolve`` run resolves, under which of uv's two models.

- ``project`` (``uv lock`` / ``uv sync``): a pyproject.toml with ``[project]`` or a workspace
  is found from the project directory and ``--pip`` is not given. Settings come from the
  workspace root; requirements from the current member (``uv sync``'s selection), or the
  ones given on the command line, each as if added to the project; versions are chosen under
  every requirement the lock resolves together.
- ``pip`` (``uv pip compile``): no project, or ``--pip``. The requirements given, or with none
  the nearest pyproject.toml's dependencies and ``tool.uv.sources`` (``uv pip compile
  pyproject.toml``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from keyring_idx.resolver.config import UV_VERSION, CliOptions, Settings, build_settings
from keyring_idx.resolver.config_files import read_layers, read_project, read_workspace
from keyring_idx.resolver.resolve import Result, Wanted, merge_requirements
from keyring_idx.resolver.select import Target
from keyring_idx.resolver.selection import Selection, selected, universe


@dataclass(frozen=True, slots=True)
class Plan:
    settings: Settings
    items: tuple[Wanted | Result, ...]  # the packages, requirements merged (--no-deps)
    requirements: tuple[str, ...]  # the requirement strings selected (the graph's roots)
    where: str  # the project file or directory, for messages
    header: Mapping[str, object] = field(default_factory=dict)  # model, uv version, project


def _names(texts: Sequence[str]) -> set[str]:
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
        layers = read_layers(project_dir, env, workspace)
        settings = build_settings(
            cli,
            env,
            layers,
            workspace.sources(),
            mode="project",
            project_indexes=workspace.pin_indexes,
            base_dir=str(workspace.root),
        )
        if requirements:
            wanted, picked = requirements, ["the requirements given, as if added to the project"]
        else:
            wanted, picked = selected(workspace, selection)
        everything = [*universe(workspace), *requirements]
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
        wanted = requirements or list(project.dependencies)
        picked = ["the requirements given"] if requirements else ["[project] dependencies"]
        everything = wanted
        where = str(project.path or project_dir)
    keep = _names(wanted)
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
    return Plan(settings, items, tuple(wanted), where, header)
