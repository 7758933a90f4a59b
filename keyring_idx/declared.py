"""How a project declares where each of its indexes gets its credential, without secrets.

``pyproject.toml``::

    [[tool.uv.index]]
    name = "internal"
    url = "https://pypi.internal.example/simple/"

    [tool.idx-auth.indexes.internal]
    provider = "vault"
    vault-addr = "https://vault.example.com"
    vault-path = "secret/pypi/internal"
    vault-username-field = "username"

Each table is named after a uv index and holds ``idx-auth login`` options by their long names
without the dashes (``username``, ``provider``, ``vault-path``, ``command``, ``token-url``,
``client-id``, ``duration``, ...); no ``provider`` means a password the person types. Secrets
(``password``, ``token``, ``client-secret``) have no place here: they are asked for at login.
Parsing is pure (:func:`parse`); :func:`read` finds the nearest ``pyproject.toml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keyring_idx.resolver.errors import ConfigError

SECRET_OPTIONS = frozenset({"password", "token", "client-secret"})


@dataclass(frozen=True, slots=True)
class Declared:
    """One index's declaration: its uv name and its login options (strings)."""

    name: str
    options: tuple[tuple[str, str], ...] = ()

    def get(self, key: str) -> str | None:
        return dict(self.options).get(key)

    @property
    def provider(self) -> str | None:
        return self.get("provider")


@dataclass(frozen=True, slots=True)
class Declarations:
    """The indexes a project declares for idx-auth, and the file they came from."""

    path: Path | None  # the pyproject.toml that declares them (None: no such file)
    indexes: tuple[Declared, ...] = ()


def parse(doc: Mapping[str, Any], origin: str) -> tuple[Declared, ...]:
    """The ``[tool.idx-auth.indexes.*]`` tables of a parsed pyproject.toml."""
    tool = doc.get("tool")
    ours = tool.get("idx-auth") if isinstance(tool, Mapping) else None
    if ours is None:
        return ()
    if not isinstance(ours, Mapping):
        raise ConfigError(f"[tool.idx-auth] in {origin} must be a table")
    tables = ours.get("indexes", {})
    if not isinstance(tables, Mapping):
        raise ConfigError(f"[tool.idx-auth.indexes] in {origin} must be a table of tables")
    found: list[Declared] = []
    for name, table in tables.items():
        where = f"[tool.idx-auth.indexes.{name}] in {origin}"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where} must be a table")
        options: list[tuple[str, str]] = []
        for key, value in table.items():
            if key in SECRET_OPTIONS:
                raise ConfigError(
                    f"{where} holds {key!r}: secrets do not belong in pyproject.toml; remove it, "
                    "idx-auth login --project asks for it"
                )
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise ConfigError(f"{where}: {key} must be a string or a number")
            options.append((str(key), str(value)))
        found.append(Declared(str(name), tuple(options)))
    return tuple(found)


def read(project_dir: Path) -> Declarations:
    """The declarations of the nearest pyproject.toml at or above ``project_dir``."""
    import tomllib

    for directory in (project_dir, *project_dir.parents):
        path = directory / "pyproject.toml"
        if not path.is_file():
            continue
        try:
            with path.open("rb") as fh:
                doc = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}; check the path") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML ({exc}); fix the file") from None
        return Declarations(path, parse(doc, str(path)))
    return Declarations(None)
