"""pip's index URLs with a ``user@`` in them: pip then never asks keyring on servers that
answer 403.

pip asks keyring only after a 401. With ``https://alice@host/simple/`` it first sends
``alice`` with an empty password; pypiserver and some Nexus setups answer that with 403, so
pip gives up without a keyring lookup. Without the ``user@`` the server answers 401 and pip asks
keyring (``--keyring-provider subprocess|import``), which gives the username too.
"""

from __future__ import annotations

import base64
import configparser
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from keyring_idx.doctor.model import Check

#: pip's configuration files, least to most specific; ``PIP_CONFIG_FILE`` comes last.
SITE_FILES = ("/etc/xdg/pip/pip.conf", "/etc/pip.conf")
SECTIONS = ("global", "install", "download")
KEYS = ("index-url", "extra-index-url")


@dataclass(frozen=True, slots=True)
class PipIndex:
    """An index URL pip is configured with, and where."""

    url: str  # as configured, userinfo included
    origin: str  # where it was set

    @property
    def username(self) -> str | None:
        parts = urlsplit(self.url)
        return unquote(parts.username) if parts.username else None

    @property
    def has_password(self) -> bool:
        return bool(urlsplit(self.url).password)

    @property
    def shown(self) -> str:
        """The URL with the username kept and any password hidden."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        user = f"{parts.username}@" if parts.username else ""
        return parts._replace(netloc=user + host).geturl()

    @property
    def without_user(self) -> str:
        parts = urlsplit(self.url)
        return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def config_files(env: Mapping[str, str], home: Path) -> list[Path]:
    xdg = env.get("XDG_CONFIG_HOME") or str(home / ".config")
    files = [Path(p) for p in SITE_FILES]
    files += [home / ".pip" / "pip.conf", Path(xdg) / "pip" / "pip.conf"]
    if env.get("PIP_CONFIG_FILE"):
        files.append(Path(env["PIP_CONFIG_FILE"]))
    return files


def pip_indexes(env: Mapping[str, str], texts: Sequence[tuple[str, str]]) -> list[PipIndex]:
    """Every index URL pip is given: ``PIP_INDEX_URL`` / ``PIP_EXTRA_INDEX_URL``, then the
    ``index-url`` / ``extra-index-url`` of each config file (``texts``: origin, text). Pure."""
    out: list[PipIndex] = []
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        out += [PipIndex(u, name) for u in env.get(name, "").split()]
    for origin, text in texts:
        config = configparser.RawConfigParser()
        try:
            config.read_string(text)
        except configparser.Error:
            continue
        for section in SECTIONS:
            for key in KEYS:
                if config.has_option(section, key):
                    value = config.get(section, key)
                    out += [PipIndex(u, f"{key} in {origin}") for u in value.split()]
    return out


def read_config_texts(files: Sequence[Path]) -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    for path in files:
        try:
            texts.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError):
            continue
    return texts


def check_pip_index(index: PipIndex, status: int | None) -> Check:
    """A pip index URL with ``user@`` and no password; ``status``: the server's answer to
    that username with an empty password (None: not asked, ``--no-probe``)."""
    name = f"pip[{index.shown}]"
    user = index.username or ""
    fix = (
        f"drop {user}@ from the URL ({index.without_user}): the server then answers 401 and "
        "pip asks keyring (--keyring-provider subprocess or import), which gives the username too"
    )
    if status == 403:
        return Check(
            name,
            "fail",
            f"pip sends {user} with an empty password ({index.origin}) and the server answers "
            "403; pip asks keyring only after a 401, so it never reaches the store",
            fix,
        )
    if status == 401:
        return Check(
            name,
            "ok",
            f"{user}@ in the URL ({index.origin}): the server answers 401 to an empty password, "
            "so pip asks keyring for the password",
        )
    if status is None:
        return Check(
            name,
            "warn",
            f"{user}@ in the URL ({index.origin}): pip sends it with an empty password first, "
            "and a server that answers 403 to that (pypiserver, some Nexus setups) never lets "
            "pip ask keyring",
            fix,
        )
    return Check(
        name,
        "ok",
        f"{user}@ in the URL ({index.origin}): the server answers {status} to an empty password",
    )


def empty_password_status(index: PipIndex, get: Callable[[str, str], int | None]) -> int | None:
    """What the server answers to the username and an empty password, as pip first sends."""
    auth = base64.b64encode(f"{index.username}:".encode()).decode()
    return get(index.without_user, f"Basic {auth}")


def checks(
    env: Mapping[str, str], home: Path, get: Callable[[str, str], int | None] | None
) -> list[Check]:
    """One check per pip index URL that carries a username without a password."""
    texts = read_config_texts(config_files(env, home))
    found = [i for i in pip_indexes(env, texts) if i.username and not i.has_password]
    seen: set[str] = set()
    out: list[Check] = []
    for index in found:
        if index.url in seen:
            continue
        seen.add(index.url)
        status = empty_password_status(index, get) if get is not None else None
        out.append(check_pip_index(index, status))
    return out


def home_of(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or os.path.expanduser("~"))
