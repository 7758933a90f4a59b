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

from keyring_idx.resolver.config import Layer, SourcePin, parse_sources
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


def read_layers(project_dir: Path, env: Mapping[str, str]) -> list[Layer]:
    """Configuration layers, highest precedence first."""
    config_file = env.get("UV_CONFIG_FILE")
    if config_file:
        return [Layer(origin=config_file, table=_load(Path(config_file)))]
    if env.get("UV_NO_CONFIG", "").strip().lower() in _TRUE:
        return []
    layers: list[Layer] = []
    project = project_layer(project_dir)
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
    found = read_pyproject(project_dir)
    if found is None:
        return Project(path=None)
    path, doc = found
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
