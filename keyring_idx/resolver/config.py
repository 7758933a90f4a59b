"""uv's index settings as values: which indexes, in which order, with which policies.

Pure: :func:`build_settings` takes the CLI options, the environment and the already-parsed
configuration layers (see :mod:`keyring_idx.resolver.config_files` for reading them) and applies
uv's precedence: command line (with ``UV_*`` variables as flag fallbacks) before the project's
configuration before the user's and the system's; lists concatenate in that order, scalars take
the first value set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, cast
from urllib.parse import urlsplit, urlunsplit

from keyring_idx.resolver.errors import ConfigError

PYPI_URL = "https://pypi.org/simple"

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


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the resolver needs from uv's configuration."""

    indexes: tuple[Index, ...]  # every configured index, in uv's combined order, before dedup
    strategy: Strategy = "first-index"
    sources: Mapping[str, tuple[SourcePin, ...]] = field(default_factory=dict)
    system_certs: bool = False
    allow_insecure_host: tuple[str, ...] = ()

    def search_order(self) -> tuple[Index, ...]:
        """The indexes uv asks for an unpinned package: implicit ones in order, then the default.

        The first occurrence of a name wins; explicit indexes never serve unpinned packages; the
        default is the first surviving ``default = true`` index, else PyPI.
        """
        seen: set[str] = set()
        implicit: list[Index] = []
        default: Index | None = None
        for index in self.indexes:
            if index.name is not None:
                if index.name in seen:
                    continue
                seen.add(index.name)
            if index.default:
                if default is None:
                    default = index
            elif not index.explicit:
                implicit.append(index)
        return (*implicit, default or Index(url=PYPI_URL, default=True, origin="uv default"))

    def named(self, name: str) -> Index:
        """The index a ``tool.uv.sources`` pin refers to (first of that name)."""
        for index in self.indexes:
            if index.name == name:
                return index
        raise ConfigError(
            f"tool.uv.sources refers to index {name!r}, which is not defined; "
            f'add [[tool.uv.index]] with name = "{name}"'
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


def _cli_indexes(cli: CliOptions, env: Mapping[str, str]) -> list[Index]:
    indexes: list[Index] = []
    default_index = cli.default_index or env.get("UV_DEFAULT_INDEX") or None
    if default_index:
        origin = "--default-index" if cli.default_index else "UV_DEFAULT_INDEX"
        indexes.append(parse_index_arg(default_index, default=True, origin=origin))
    if cli.index:
        indexes += [parse_index_arg(v, default=False, origin="--index") for v in cli.index]
    else:
        indexes += [
            parse_index_arg(v, default=False, origin="UV_INDEX")
            for v in _split(env.get("UV_INDEX"))
        ]
    extra = cli.extra_index_url or _split(env.get("UV_EXTRA_INDEX_URL"))
    origin = "--extra-index-url" if cli.extra_index_url else "UV_EXTRA_INDEX_URL"
    indexes += [Index(url=_check_url(u, origin), origin=origin) for u in extra]
    index_url = cli.index_url or env.get("UV_INDEX_URL") or None
    if index_url:
        origin = "--index-url" if cli.index_url else "UV_INDEX_URL"
        indexes.append(Index(url=_check_url(index_url, origin), default=True, origin=origin))
    return indexes


def _table_index(entry: Any, origin: str) -> Index:
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
    return Index(
        url=_check_url(url, origin),
        name=name,
        default=bool(entry.get("default", False)),
        explicit=explicit,
        format=cast(Format, fmt),
        authenticate=cast(Authenticate, auth),
        ignore_error_codes=ignore,
        origin=origin,
    )


def _layer_values(layer: Layer) -> tuple[list[Index], list[str], str | None, Mapping[str, Any]]:
    """(indexes, extra URLs, index-url, merged table) of one layer, ``[pip]`` before top level."""
    top = layer.table
    pip = top.get("pip") if isinstance(top.get("pip"), Mapping) else {}
    assert isinstance(pip, Mapping)
    merged: dict[str, Any] = {**top, **{k: v for k, v in pip.items() if k != "index"}}
    entries = [*(pip.get("index") or []), *(top.get("index") or [])]
    indexes = [_table_index(e, layer.origin) for e in entries]
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


def build_settings(
    cli: CliOptions,
    env: Mapping[str, str],
    layers: Sequence[Layer],
    sources: Mapping[str, tuple[SourcePin, ...]] | None = None,
) -> Settings:
    """Combine flags, environment and configuration layers (project first) as uv does."""
    cli_indexes = _cli_indexes(cli, env)
    file_indexes: list[Index] = []
    file_extra: list[Index] = []
    file_index_url: Index | None = None
    strategy_value: str | None = cli.index_strategy or env.get("UV_INDEX_STRATEGY") or None
    system_certs = cli.system_certs or _flag(env, "UV_SYSTEM_CERTS", "UV_NATIVE_TLS")
    insecure: list[str] = list(cli.allow_insecure_host or _split(env.get("UV_INSECURE_HOST")))
    for layer in layers:
        indexes, extra, index_url, merged = _layer_values(layer)
        file_indexes += indexes
        file_extra += [Index(url=_check_url(u, layer.origin), origin=layer.origin) for u in extra]
        if file_index_url is None and isinstance(index_url, str):
            file_index_url = Index(
                url=_check_url(index_url, layer.origin), default=True, origin=layer.origin
            )
        if strategy_value is None and isinstance(merged.get("index-strategy"), str):
            strategy_value = merged["index-strategy"]
        if not system_certs:
            system_certs = bool(merged.get("system-certs") or merged.get("native-tls"))
        insecure += [str(h) for h in merged.get("allow-insecure-host") or []]
    strategy = strategy_value or "first-index"
    if strategy not in STRATEGIES:
        raise ConfigError(
            f"unknown index strategy {strategy!r}; use one of " + ", ".join(STRATEGIES)
        )
    ordered = [*cli_indexes, *file_indexes, *file_extra]
    if file_index_url is not None:
        ordered.append(file_index_url)
    return Settings(
        indexes=tuple(ordered),
        strategy=strategy,
        sources=dict(sources or {}),
        system_certs=system_certs,
        allow_insecure_host=tuple(_dedup(insecure)),
    )


def _dedup(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
