"""Reading uv's configuration files: the only file I/O of the settings layer.

Discovery follows uv: from the project directory upwards, the first directory with a ``uv.toml``
or a ``pyproject.toml`` that has a ``[tool.uv]`` table gives the project layer (``uv.toml`` wins
over ``pyproject.toml`` in the same directory); then the user's ``uv/uv.toml`` (XDG config dir)
and the system's. ``UV_CONFIG_FILE`` replaces discovery; ``UV_NO_CONFIG`` turns it off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keyring_idx.resolver.config import Index, Layer, SourcePin, parse_sources, table_index
from keyring_idx.resolver.errors import ConfigError

_TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True, slots=True)
class Project:
    """What the project's pyproject.toml contributes besides settings."""

    path: Path | None
    dependencies: tuple[str, ...] = ()
    sources: Mapping[str, tuple[SourcePin, ...]] = field(default_factory=dict)


def _load(path: Path) -> dict[str, Any]:
    import tomllib  # only when a file exists: most of a run's time is imports

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}; check the path") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix the file") from None


def _tool_uv(doc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    tool = doc.get("tool")
    if isinstance(tool, Mapping):
        uv = tool.get("uv")
        if isinstance(uv, Mapping):
            return uv
    return None


def project_layer(start: Path) -> Layer | None:
    for directory in (start, *start.parents):
        uv_toml = directory / "uv.toml"
        if uv_toml.is_file():
            return Layer(origin=str(uv_toml), table=_load(uv_toml))
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            table = _tool_uv(_load(pyproject))
            if table is not None:
                return Layer(origin=str(pyproject), table=table)
    return None


def _user_config(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "uv" / "uv.toml"


def _system_configs(env: Mapping[str, str]) -> list[Path]:
    dirs = (env.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":")
    return [*(Path(d) / "uv" / "uv.toml" for d in dirs if d), Path("/etc/uv/uv.toml")]


def read_layers(
    project_dir: Path, env: Mapping[str, str], workspace: Workspace | None = None
) -> list[Layer]:
    """Configuration layers, highest precedence first. In a workspace the project layer is the
    workspace root's (uv reads settings from the root, not from members)."""
    config_file = env.get("UV_CONFIG_FILE")
    if config_file:
        return [Layer(origin=config_file, table=_load(Path(config_file)))]
    if env.get("UV_NO_CONFIG", "").strip().lower() in _TRUE:
        return []
    layers: list[Layer] = []
    project = workspace.settings_layer if workspace is not None else project_layer(project_dir)
    if project is not None:
        layers.append(project)
    user = _user_config(env)
    if user.is_file():
        layers.append(Layer(origin=str(user), table=_load(user)))
    for system in _system_configs(env):
        if system.is_file():
            layers.append(Layer(origin=str(system), table=_load(system)))
            break
    return layers


def read_pyproject(project_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The nearest pyproject.toml, from the project directory upwards, and its contents."""
    for directory in (project_dir, *project_dir.parents):
        path = directory / "pyproject.toml"
        if path.is_file():
            return path, _load(path)
    return None


def read_project(project_dir: Path) -> Project:
    """``[project] dependencies`` and ``tool.uv.sources`` of the nearest pyproject.toml."""
    for directory in (project_dir, *project_dir.parents):
        path = directory / "pyproject.toml"
        if path.is_file():
            doc = _load(path)
            project = doc.get("project") if isinstance(doc.get("project"), Mapping) else {}
            assert isinstance(project, Mapping)
            deps = project.get("dependencies") or []
            if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
                raise ConfigError(f"[project] dependencies in {path} must be a list of strings")
            uv = _tool_uv(doc) or {}
            raw_sources = uv.get("sources") or {}
            if not isinstance(raw_sources, Mapping):
                raise ConfigError(f"tool.uv.sources in {path} must be a table")
            return Project(
                path=path,
                dependencies=tuple(deps),
                sources=parse_sources(raw_sources, str(path)),
            )
    return Project(path=None)


@dataclass(frozen=True, slots=True)
class Member:
    """One project of a workspace (or a lone project): what ``uv lock`` reads from its
    pyproject.toml."""

    path: Path  # its pyproject.toml
    name: str | None
    dependencies: tuple[str, ...]
    extras: Mapping[str, tuple[str, ...]]
    groups: Mapping[str, tuple[str, ...]]  # include-group entries already expanded
    sources: Mapping[str, tuple[SourcePin, ...]]
    indexes: tuple[Index, ...]  # its [[tool.uv.index]] entries, which sources pins may name
    default_groups: tuple[str, ...] | None  # [tool.uv] default-groups, None: not set
    requires_python: str | None = None


@dataclass(frozen=True, slots=True)
class Workspace:
    """A project as ``uv lock`` sees it: the workspace root, every member, and the one the
    command runs in (``current``; ``uv sync`` installs that one)."""

    root: Path  # the root's directory
    members: tuple[Member, ...]  # the root first when it is a project itself
    current: Member
    settings_layer: Layer | None  # uv.toml beside the root's pyproject wins, else its [tool.uv]

    @property
    def pin_indexes(self) -> tuple[Index, ...]:
        return tuple(i for m in self.members for i in m.indexes)

    def sources(self) -> dict[str, tuple[SourcePin, ...]]:
        """Root pins apply to every member; a member's own pins win for its requirements (the
        current member's last, so they win over the others')."""
        root = next((m for m in self.members if m.path.parent == self.root), None)
        merged: dict[str, tuple[SourcePin, ...]] = dict(root.sources) if root else {}
        for m in self.members:
            if m is not root and m is not self.current:
                merged.update(m.sources)
        merged.update(self.current.sources)
        return merged


def _strings(value: Any, what: str, path: Path) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{what} in {path} must be a list of strings")
    return tuple(value)


def _groups(
    doc: Mapping[str, Any], uv: Mapping[str, Any], path: Path
) -> dict[str, tuple[str, ...]]:
    """``[dependency-groups]`` (PEP 735) with ``{include-group = ...}`` expanded, plus uv's
    legacy ``[tool.uv] dev-dependencies`` as part of ``dev``."""
    from packaging.utils import canonicalize_name

    raw = doc.get("dependency-groups") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"[dependency-groups] in {path} must be a table")
    by_name: dict[str, Any] = {canonicalize_name(str(k)): v for k, v in raw.items()}

    def expand(name: str, seen: tuple[str, ...]) -> tuple[str, ...]:
        if name in seen:
            raise ConfigError(f"dependency group {name!r} in {path} includes itself")
        entries = by_name.get(name)
        if not isinstance(entries, list):
            raise ConfigError(f"dependency group {name!r} in {path} is not a list")
        out: list[str] = []
        for entry in entries:
            if isinstance(entry, str):
                out.append(entry)
            elif isinstance(entry, Mapping) and isinstance(entry.get("include-group"), str):
                out += expand(canonicalize_name(entry["include-group"]), (*seen, name))
            else:
                raise ConfigError(f"dependency group {name!r} in {path} has an invalid entry")
        return tuple(out)

    groups: dict[str, tuple[str, ...]] = {name: expand(name, ()) for name in by_name}
    legacy = _strings(uv.get("dev-dependencies"), "tool.uv.dev-dependencies", path)
    if legacy:
        groups["dev"] = (*groups.get("dev", ()), *legacy)
    return groups


def _member(path: Path, doc: Mapping[str, Any]) -> Member:
    project = doc.get("project") if isinstance(doc.get("project"), Mapping) else {}
    assert isinstance(project, Mapping)
    uv = _tool_uv(doc) or {}
    extras_raw = project.get("optional-dependencies") or {}
    if not isinstance(extras_raw, Mapping):
        raise ConfigError(f"[project.optional-dependencies] in {path} must be a table")
    from packaging.utils import canonicalize_name

    extras: dict[str, tuple[str, ...]] = {
        canonicalize_name(str(k)): _strings(v, f"optional-dependencies.{k}", path)
        for k, v in extras_raw.items()
    }
    raw_sources = uv.get("sources") or {}
    if not isinstance(raw_sources, Mapping):
        raise ConfigError(f"tool.uv.sources in {path} must be a table")
    raw_indexes = uv.get("index") or []
    if not isinstance(raw_indexes, list):
        raise ConfigError(f"[[tool.uv.index]] in {path} must be an array of tables")
    default_groups = uv.get("default-groups")
    if default_groups == "all":
        groups_setting: tuple[str, ...] | None = ("*",)
    elif default_groups is None:
        groups_setting = None
    else:
        groups_setting = tuple(
            canonicalize_name(g) for g in _strings(default_groups, "default-groups", path)
        )
    name = project.get("name")
    rp = project.get("requires-python")
    return Member(
        path=path,
        name=canonicalize_name(name) if isinstance(name, str) else None,
        dependencies=_strings(project.get("dependencies"), "[project] dependencies", path),
        extras=extras,
        groups=_groups(doc, uv, path),
        sources=parse_sources(raw_sources, str(path)),
        indexes=tuple(table_index(e, str(path)) for e in raw_indexes if isinstance(e, Mapping)),
        default_groups=groups_setting,
        requires_python=rp if isinstance(rp, str) else None,
    )


def _workspace_table(doc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    uv = _tool_uv(doc) or {}
    ws = uv.get("workspace")
    return ws if isinstance(ws, Mapping) else None


def _member_dirs(root: Path, table: Mapping[str, Any]) -> list[Path]:
    path = root / "pyproject.toml"
    found: list[Path] = []
    excluded = {
        p.resolve()
        for pattern in _strings(table.get("exclude"), "exclude", path)
        for p in root.glob(pattern)
    }
    for pattern in _strings(table.get("members"), "workspace members", path):
        for d in sorted(root.glob(pattern)):
            d = d.resolve()
            if d.is_dir() and d not in excluded and (d / "pyproject.toml").is_file():
                found.append(d)
    return found


def read_workspace(start: Path) -> Workspace | None:
    """The project ``uv lock`` would lock from ``start``: the nearest pyproject.toml with a
    ``[project]`` or ``[tool.uv.workspace]`` table, and the workspace whose root lists it as a
    member (if any). None: no project, so the pip model applies."""
    current_path: Path | None = None
    current_doc: Mapping[str, Any] = {}
    doc: Mapping[str, Any]
    for directory in (start, *start.parents):
        path = directory / "pyproject.toml"
        if path.is_file():
            doc = _load(path)
            if isinstance(doc.get("project"), Mapping) or _workspace_table(doc) is not None:
                current_path, current_doc = path, doc
            break
    if current_path is None:
        return None
    root_dir, root_doc = current_path.parent, current_doc
    members_dirs: list[Path] = []
    for directory in (current_path.parent, *current_path.parent.parents):
        path = directory / "pyproject.toml"
        if not path.is_file():
            continue
        doc = current_doc if path == current_path else _load(path)
        table = _workspace_table(doc)
        if table is None:
            continue
        dirs = _member_dirs(directory, table)
        if directory == current_path.parent or current_path.parent.resolve() in dirs:
            root_dir, root_doc, members_dirs = directory, doc, dirs
            break
    members: list[Member] = []
    if isinstance(root_doc.get("project"), Mapping) or root_dir == current_path.parent:
        members.append(_member(root_dir / "pyproject.toml", root_doc))
    for d in members_dirs:
        if d != root_dir.resolve():
            members.append(_member(d / "pyproject.toml", _load(d / "pyproject.toml")))
    current = next(
        (m for m in members if m.path.parent.resolve() == current_path.parent.resolve()),
        members[0],
    )
    uv_toml = root_dir / "uv.toml"
    layer: Layer | None
    if uv_toml.is_file():
        layer = Layer(origin=str(uv_toml), table=_load(uv_toml))
    else:
        table = _tool_uv(root_doc)
        layer = Layer(origin=str(root_dir / "pyproject.toml"), table=table) if table else None
    return Workspace(root=root_dir, members=tuple(members), current=current, settings_layer=layer)


def read_member(start: Path) -> Member | None:
    """The nearest pyproject.toml's project, as ``uv pip compile pyproject.toml`` reads it."""
    for directory in (start, *start.parents):
        path = directory / "pyproject.toml"
        if path.is_file():
            doc = _load(path)
            return _member(path, doc) if isinstance(doc.get("project"), Mapping) else None
    return None
