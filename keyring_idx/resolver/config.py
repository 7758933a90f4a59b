"""uv's index settings as values: which indexes, in which order, with which policies.

Pure: :func:`build_settings` takes the CLI options, the environment and the already-parsed
configuration layers (see :mod:`keyring_idx.resolver.config_files` for reading them) and applies
uv's precedence: command line (with ``UV_*`` variables as flag fallbacks) before the project's
configuration before the user's and the system's; lists concatenate in that order, scalars take
the first value set.

Two models, as the uv binary (0.13.9) behaves:
- ``project`` (``uv lock`` / ``uv sync``): ``[tool.uv.pip]`` is not read; the search order is
  every ``index`` (flags, then files), then every ``extra-index-url`` (flags, then files), then
  the default index;
- ``pip`` (``uv pip compile``): ``[tool.uv.pip]`` comes before the top level of each file; the
  search order is the flags' ``index`` and ``extra-index-url``, then the files' (``index``, then
  ``extra-index-url``), then the default index.
In both the default index is the first of: ``--default-index``, ``--index-url`` (or their
variables), a file's ``default = true`` index, a file's ``index-url``; else PyPI.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, cast
from urllib.parse import urlsplit, urlunsplit

from keyring_idx.resolver.errors import ConfigError

PYPI_URL = "https://pypi.org/simple"
UV_VERSION = "0.13.9"  # the uv binary whose behaviour the resolver models

Mode = Literal["project", "pip"]
MODEL_NAMES: Mapping[str, str] = {"project": "uv lock / uv sync", "pip": "uv pip compile"}
Prerelease = Literal["disallow", "allow", "if-necessary", "explicit", "if-necessary-or-explicit"]
Resolution = Literal["highest", "lowest", "lowest-direct"]
PRERELEASES: tuple[Prerelease, ...] = (
    "disallow",
    "allow",
    "if-necessary",
    "explicit",
    "if-necessary-or-explicit",
)
RESOLUTIONS: tuple[Resolution, ...] = ("highest", "lowest", "lowest-direct")
KEYRING_PROVIDERS = ("disabled", "subprocess")

Authenticate = Literal["auto", "always", "never"]
Strategy = Literal["first-index", "unsafe-first-match", "unsafe-best-match"]
Format = Literal["simple", "flat"]

STRATEGIES: tuple[Strategy, ...] = ("first-index", "unsafe-first-match", "unsafe-best-match")
_AUTHENTICATE: tuple[Authenticate, ...] = ("auto", "always", "never")
_TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True, slots=True)
class Index:
    """One configured index. ``url`` is as configured (userinfo included, if any)."""

    url: str
    name: str | None = None
    default: bool = False
    explicit: bool = False
    format: Format = "simple"
    authenticate: Authenticate = "auto"
    ignore_error_codes: frozenset[int] | None = None
    origin: str = "cli"  # where it was configured, for --explain

    @property
    def display_url(self) -> str:
        """The URL with any userinfo removed: safe to print and to put in JSON."""
        return strip_userinfo(self.url)


NON_INDEX_SOURCES = ("git", "path", "url", "workspace")


@dataclass(frozen=True, slots=True)
class SourcePin:
    """``tool.uv.sources`` entry, optionally for a marker only: an index by name, or (``index``
    None) another kind of source (``kind``: git, path, url, workspace) that uv takes the
    package from instead of any index."""

    index: str | None
    marker: str | None = None
    kind: str = "index"


@dataclass(frozen=True, slots=True)
class Layer:
    """One configuration file's uv settings (``[tool.uv]`` or a ``uv.toml``), already parsed."""

    origin: str
    table: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CliOptions:
    """Index-related flags as given on the command line (None / empty: not given)."""

    index: tuple[str, ...] = ()
    default_index: str | None = None
    index_url: str | None = None
    extra_index_url: tuple[str, ...] = ()
    index_strategy: str | None = None
    system_certs: bool = False
    allow_insecure_host: tuple[str, ...] = ()
    keyring_provider: str | None = None
    prerelease: str | None = None
    resolution: str | None = None
    exclude_newer: str | None = None
    find_links: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the resolver needs from uv's configuration."""

    indexes: tuple[Index, ...]  # every configured index, in uv's combined order, before dedup
    strategy: Strategy = "first-index"
    sources: Mapping[str, tuple[SourcePin, ...]] = field(default_factory=dict)
    system_certs: bool = False
    allow_insecure_host: tuple[str, ...] = ()
    mode: Mode = "pip"
    keyring_provider: str = "disabled"
    keyring_provider_origin: str = "uv default"
    prerelease: Prerelease = "if-necessary-or-explicit"
    resolution: Resolution = "highest"
    exclude_newer: str | None = None  # RFC 3339 instant, normalised to UTC ``...Z``
    constraints: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()
    find_links: tuple[Index, ...] = ()  # flat locations merged with every package's candidates
    # Indexes a tools.uv.sources pin may name (project model: the project's pyproject files and
    # the command line); None: any configured index. ``undeclared`` maps a name defined only
    # elsewhere (a uv.toml) to that file, for uv's error hint.
    pin_indexes: tuple[Index, ...] | None = None
    undeclared: Mapping[str, str] = field(default_factory=dict)

    @property
    def model(self) -> str:
        return MODEL_NAMES[self.mode]

    def search_order(self) -> tuple[Index, ...]:
        """The indexes uv asks for an unpinned package: implicit ones in order, then the default.

        The first occurrence of a name wins; explicit indexes never serve unpinned packages; the
        default is the first surviving ``default = true`` index, else PyPI.
        """
        implicit: list[Index] = []
        default: Index | None = None
        for index in self._first_of_each_name():
            if index.default:
                if default is None:
                    default = index
            elif not index.explicit:
                implicit.append(index)
        if default is None:
            default = Index(url=PYPI_URL, default=True, origin="uv default")
        elif default.explicit:
            # default and explicit: serves only pinned packages, and PyPI is gone (uv 0.13.9)
            return tuple(implicit)
        return (*implicit, default)

    def default_index(self) -> Index:
        """The default index: the first ``default = true`` (even one that is also explicit, and
        so searched for pinned packages only), else PyPI."""
        for index in self._first_of_each_name():
            if index.default:
                return index
        return Index(url=PYPI_URL, default=True, origin="uv default")

    def _first_of_each_name(self) -> Iterator[Index]:
        """The indexes in order, a later one with an earlier one's name left out."""
        seen: set[str] = set()
        for index in self.indexes:
            if index.name is not None:
                if index.name in seen:
                    continue
                seen.add(index.name)
            yield index

    def named(self, name: str, package: str = "") -> Index:
        """The index a ``tool.uv.sources`` pin refers to (first of that name)."""
        pool = self.indexes if self.pin_indexes is None else self.pin_indexes
        for index in pool:
            if index.name == name:
                return index
        who = f"Package `{package}`" if package else "tool.uv.sources"
        where = self.undeclared.get(name)
        if where is not None:
            raise ConfigError(
                f"{who} references an undeclared index: `{name}`; index `{name}` is defined in "
                f"{where}, but indexes named in tool.uv.sources must be defined in the "
                "project's pyproject.toml (move the [[index]] entry there as [[tool.uv.index]])"
            )
        raise ConfigError(
            f"{who} references an undeclared index: `{name}`; "
            f'add [[tool.uv.index]] with name = "{name}" to pyproject.toml'
        )


@lru_cache(maxsize=4096)  # asked for the same index URLs on every request
def strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def env_name(index_name: str) -> str:
    """``UV_INDEX_<NAME>_`` stem: upper-cased, every non-alphanumeric character to ``_``."""
    return re.sub(r"[^A-Z0-9]", "_", index_name.upper())


def parse_index_arg(value: str, *, default: bool, origin: str) -> Index:
    """``--index`` / ``UV_INDEX`` syntax: ``[NAME=]URL``."""
    name: str | None = None
    url = value
    head, sep, tail = value.partition("=")
    if sep and "://" not in head and re.fullmatch(r"[A-Za-z0-9_.-]+", head):
        name, url = head, tail
    return Index(url=_check_url(url, origin), name=name, default=default, origin=origin)


def _check_url(url: str, origin: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "file") or not (parts.netloc or parts.path):
        raise ConfigError(
            f"index URL {strip_userinfo(url)!r} from {origin} is not an http(s) URL; "
            "write it as https://host/path/simple"
        )
    return url


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(value.split()) if value else ()


@dataclass(frozen=True, slots=True)
class _CliIndexes:
    """The indexes the command line (and its variables) name, by kind."""

    defaults: tuple[Index, ...]  # --default-index, then --index-url (or their variables)
    indexes: tuple[Index, ...]
    extra: tuple[Index, ...]


def _cli_indexes(cli: CliOptions, env: Mapping[str, str]) -> _CliIndexes:
    defaults: list[Index] = []
    default_index = cli.default_index or env.get("UV_DEFAULT_INDEX") or None
    if default_index:
        origin = "--default-index" if cli.default_index else "UV_DEFAULT_INDEX"
        defaults.append(parse_index_arg(default_index, default=True, origin=origin))
    index_url = cli.index_url or env.get("UV_INDEX_URL") or None
    if index_url:
        origin = "--index-url" if cli.index_url else "UV_INDEX_URL"
        defaults.append(Index(url=_check_url(index_url, origin), default=True, origin=origin))
    if cli.index:
        indexes = [parse_index_arg(v, default=False, origin="--index") for v in cli.index]
    else:
        indexes = [
            parse_index_arg(v, default=False, origin="UV_INDEX")
            for v in _split(env.get("UV_INDEX"))
        ]
    extra = cli.extra_index_url or _split(env.get("UV_EXTRA_INDEX_URL"))
    origin = "--extra-index-url" if cli.extra_index_url else "UV_EXTRA_INDEX_URL"
    extras = [Index(url=_check_url(u, origin), origin=origin) for u in extra]
    return _CliIndexes(tuple(defaults), tuple(indexes), tuple(extras))


def table_index(entry: Any, origin: str) -> Index:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("url"), str):
        raise ConfigError(f"[[tool.uv.index]] entry in {origin} needs a url string")
    name = entry.get("name")
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"index name in {origin} must be a string")
    explicit = bool(entry.get("explicit", False))
    if explicit and name is None:
        raise ConfigError(f"an explicit index in {origin} needs a name (used by tool.uv.sources)")
    fmt = entry.get("format", "simple")
    if fmt not in ("simple", "flat"):
        raise ConfigError(f'index {name or entry["url"]!r} in {origin}: format must be "flat"')
    auth = entry.get("authenticate", "auto")
    if auth not in _AUTHENTICATE:
        raise ConfigError(
            f"index {name or entry['url']!r} in {origin}: authenticate must be one of "
            + ", ".join(_AUTHENTICATE)
        )
    codes = entry.get("ignore-error-codes")
    ignore = None
    if codes is not None:
        if not isinstance(codes, list) or not all(isinstance(c, int) for c in codes):
            raise ConfigError(f"ignore-error-codes in {origin} must be a list of status codes")
        ignore = frozenset(codes)
    url = entry["url"]
    if auth == "never" and "@" in urlsplit(url).netloc:
        raise ConfigError(
            f'index {name or strip_userinfo(url)!r} in {origin} has authenticate = "never" '
            "but credentials in its URL; remove one of them"
        )
    local = fmt == "flat" and is_local_path(url)
    return Index(
        url=url if local else _check_url(url, origin),
        name=name,
        default=bool(entry.get("default", False)),
        explicit=explicit,
        format=cast(Format, fmt),
        authenticate=cast(Authenticate, auth),
        ignore_error_codes=ignore,
        origin=origin,
    )


def _layer_values(
    layer: Layer, mode: Mode = "pip"
) -> tuple[list[Index], list[str], str | None, Mapping[str, Any]]:
    """(indexes, extra URLs, index-url, merged table) of one layer, ``[pip]`` before top level
    in the pip model; the project model does not read ``[pip]``."""
    top = layer.table
    pip = top.get("pip") if isinstance(top.get("pip"), Mapping) and mode == "pip" else {}
    assert isinstance(pip, Mapping)
    merged: dict[str, Any] = {**top, **{k: v for k, v in pip.items() if k != "index"}}
    entries = [*(pip.get("index") or []), *(top.get("index") or [])]
    indexes = [table_index(e, layer.origin) for e in entries]
    extra_raw = [*(pip.get("extra-index-url") or []), *(top.get("extra-index-url") or [])]
    index_url = merged.get("index-url")
    return indexes, [str(u) for u in extra_raw], index_url, merged


def parse_sources(table: Mapping[str, Any], origin: str) -> dict[str, tuple[SourcePin, ...]]:
    """``tool.uv.sources``: index pins; git, path, url and workspace sources are kept as such
    (the requirement is then reported as not coming from an index)."""
    from packaging.utils import canonicalize_name

    pins: dict[str, tuple[SourcePin, ...]] = {}
    for name, value in table.items():
        entries = value if isinstance(value, list) else [value]
        result: list[SourcePin] = []
        for entry in entries:
            if not isinstance(entry, Mapping):
                raise ConfigError(f"tool.uv.sources.{name} in {origin} must be a table")
            marker = entry.get("marker")
            if isinstance(entry.get("index"), str):
                result.append(SourcePin(index=entry["index"], marker=marker))
                continue
            kind = next((k for k in NON_INDEX_SOURCES if k in entry), None)
            if kind is None:
                raise ConfigError(
                    f"tool.uv.sources.{name} in {origin} names no source "
                    f"(expected one of index, {', '.join(NON_INDEX_SOURCES)})"
                )
            result.append(SourcePin(index=None, marker=marker, kind=kind))
        pins[canonicalize_name(name)] = tuple(result)
    return pins


def _flag(env: Mapping[str, str], *names: str) -> bool:
    return any(env.get(n, "").strip().lower() in _TRUE for n in names)


def _choice(value: object, allowed: Sequence[str], what: str, origin: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(
            f"unknown {what} {value!r} from {origin}; use one of " + ", ".join(allowed)
        )
    return value


def _first(
    cli_value: str | None,
    env: Mapping[str, str],
    variable: str,
    tables: Sequence[tuple[str, Mapping[str, Any]]],
    key: str,
) -> tuple[str | None, str]:
    """A scalar setting: the flag, its variable, then the first file that sets it."""
    if cli_value:
        return cli_value, f"--{key}"
    if env.get(variable):
        return env[variable], variable
    for origin, table in tables:
        value = table.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise ConfigError(f"{key} in {origin} must be a string")
            return value, origin
    return None, ""


def build_settings(
    cli: CliOptions,
    env: Mapping[str, str],
    layers: Sequence[Layer],
    sources: Mapping[str, tuple[SourcePin, ...]] | None = None,
    *,
    mode: Mode = "pip",
    project_indexes: Sequence[Index] | None = None,
    base_dir: str | None = None,
) -> Settings:
    """Combine flags, environment and configuration layers (project first) as uv does.

    ``project_indexes`` are the ``[[tool.uv.index]]`` entries of the project's pyproject files,
    the only ones (with the command line's) a sources pin may name in the project model.
    ``base_dir`` is where relative local index paths start (the project directory)."""
    cli_idx = _cli_indexes(cli, env)
    file_indexes: list[Index] = []
    file_extra: list[Index] = []
    file_index_url: Index | None = None
    tables: list[tuple[str, Mapping[str, Any]]] = []
    system_certs = cli.system_certs or _flag(env, "UV_SYSTEM_CERTS", "UV_NATIVE_TLS")
    insecure: list[str] = list(cli.allow_insecure_host or _split(env.get("UV_INSECURE_HOST")))
    constraints: list[str] = []
    overrides: list[str] = []
    find_links: list[str] = list(cli.find_links or _split(env.get("UV_FIND_LINKS")))
    for layer in layers:
        indexes, extra, index_url, merged = _layer_values(layer, mode)
        tables.append((layer.origin, merged))
        file_indexes += [_localise(i, base_dir) for i in indexes]
        file_extra += [Index(url=_check_url(u, layer.origin), origin=layer.origin) for u in extra]
        if file_index_url is None and isinstance(index_url, str):
            file_index_url = Index(
                url=_check_url(index_url, layer.origin), default=True, origin=layer.origin
            )
        if not system_certs:
            system_certs = bool(merged.get("system-certs") or merged.get("native-tls"))
        insecure += [str(h) for h in merged.get("allow-insecure-host") or []]
        constraints += _strings(merged, "constraint-dependencies", layer.origin)
        overrides += _strings(merged, "override-dependencies", layer.origin)
        find_links += _strings(merged, "find-links", layer.origin)
    strategy, where = _first(cli.index_strategy, env, "UV_INDEX_STRATEGY", tables, "index-strategy")
    strategy = _choice(strategy or "first-index", STRATEGIES, "index strategy", where)
    provider, provider_origin = _first(
        cli.keyring_provider, env, "UV_KEYRING_PROVIDER", tables, "keyring-provider"
    )
    provider = _choice(
        provider or "disabled", KEYRING_PROVIDERS, "keyring-provider", provider_origin
    )
    prerelease, where = _first(cli.prerelease, env, "UV_PRERELEASE", tables, "prerelease")
    prerelease = _choice(prerelease or "if-necessary-or-explicit", PRERELEASES, "prerelease", where)
    resolution, where = _first(cli.resolution, env, "UV_RESOLUTION", tables, "resolution")
    resolution = _choice(resolution or "highest", RESOLUTIONS, "resolution", where)
    exclude_newer, origin = _first(
        cli.exclude_newer, env, "UV_EXCLUDE_NEWER", tables, "exclude-newer"
    )
    if mode == "project":
        ordered = [
            *cli_idx.defaults,
            *cli_idx.indexes,
            *file_indexes,
            *cli_idx.extra,
            *file_extra,
        ]
    else:
        ordered = [
            *cli_idx.defaults,
            *cli_idx.indexes,
            *cli_idx.extra,
            *file_indexes,
            *file_extra,
        ]
    if file_index_url is not None:
        ordered.append(file_index_url)
    pin_indexes: tuple[Index, ...] | None = None
    undeclared: dict[str, str] = {}
    if project_indexes is not None:
        pin_indexes = (*cli_idx.indexes, *cli_idx.defaults, *project_indexes)
        declared = {i.name for i in pin_indexes}
        for index in file_indexes:
            if index.name is not None and index.name not in declared:
                undeclared.setdefault(index.name, index.origin)
    return Settings(
        indexes=tuple(ordered),
        strategy=cast(Strategy, strategy),
        sources=dict(sources or {}),
        system_certs=system_certs,
        allow_insecure_host=tuple(_dedup(insecure)),
        mode=mode,
        keyring_provider=provider,
        keyring_provider_origin=provider_origin or "uv default",
        prerelease=cast(Prerelease, prerelease),
        resolution=cast(Resolution, resolution),
        exclude_newer=parse_exclude_newer(exclude_newer, origin) if exclude_newer else None,
        constraints=tuple(constraints),
        overrides=tuple(overrides),
        find_links=tuple(_find_link(f, base_dir) for f in _dedup(find_links)),
        pin_indexes=pin_indexes,
        undeclared=undeclared,
    )


def _strings(table: Mapping[str, Any], key: str, origin: str) -> list[str]:
    value = table.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key} in {origin} must be a list of strings")
    return list(value)


def parse_exclude_newer(value: str, origin: str) -> str:
    """``exclude-newer``: an RFC 3339 timestamp or a date (midnight UTC), as ``...Z`` in UTC."""
    from datetime import UTC, datetime

    text = value.strip()
    try:
        if len(text) == 10:
            instant = datetime.fromisoformat(text).replace(tzinfo=UTC)
        else:
            instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if instant.tzinfo is None:
                raise ValueError("no time zone")
    except ValueError:
        raise ConfigError(
            f"exclude-newer {value!r} from {origin} is not a date or an RFC 3339 timestamp; "
            "write it like 2024-01-31 or 2024-01-31T00:00:00Z"
        ) from None
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_local_path(url: str) -> bool:
    """A flat location given as a path (``./wheels``, ``/srv/wheels``) or a ``file://`` URL."""
    return "://" not in url or url.startswith("file://")


def _local_url(path: str, base_dir: str | None) -> str:
    from pathlib import Path

    if path.startswith("file://"):
        return path
    p = Path(path).expanduser()
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    return p.resolve().as_uri()


def _localise(index: Index, base_dir: str | None) -> Index:
    if index.format == "flat" and is_local_path(index.url) and not index.url.startswith("file:"):
        from dataclasses import replace

        return replace(index, url=_local_url(index.url, base_dir))
    return index


def _find_link(value: str, base_dir: str | None) -> Index:
    if is_local_path(value):
        return Index(url=_local_url(value, base_dir), format="flat", origin="find-links")
    return Index(url=_check_url(value, "find-links"), format="flat", origin="find-links")


def _dedup(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
