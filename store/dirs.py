"""Where the store, the key and the agent socket live.

platformdirs with the app name ``idx-auth``, each directory overridable by an environment
variable. Pure: takes the environment as a mapping, touches no file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

APP = "idx-auth"
STORE_FILE = "credentials.toml"
LOCK_FILE = "credentials.toml.lock"
REFRESH_LOCK_FILE = "credentials.toml.refresh.lock"
KEY_FILE = "key"
SOCKET_FILE = "agent.sock"


@dataclass(frozen=True, slots=True)
class Dirs:
    """Where the store, its key and the agent's socket live."""

    data: Path  # credentials.toml and its lock
    config: Path  # key file and settings
    runtime: Path  # agent.sock

    @property
    def store_file(self) -> Path:
        return self.data / STORE_FILE

    @property
    def lock_file(self) -> Path:
        return self.data / LOCK_FILE

    @property
    def refresh_lock_file(self) -> Path:
        """Per-entry refresh locks (a byte each): a provider runs holding its entry's only."""
        return self.data / REFRESH_LOCK_FILE

    @property
    def key_file(self) -> Path:
        return self.config / KEY_FILE

    @property
    def socket(self) -> Path:
        return self.runtime / SOCKET_FILE


def private_paths(dirs: Dirs, env: Mapping[str, str]) -> list[tuple[Path, str, bool]]:
    """Every directory and file the private-file rule covers (:mod:`store.files`), as
    ``(path, what, is_dir)``: what ``doctor`` inspects, and what the store checks as it goes."""
    paths = [
        (dirs.data, "data directory", True),
        (dirs.config, "config directory", True),
        (dirs.store_file, "store", False),
        (dirs.lock_file, "lock file", False),
        (dirs.key_file, "key file", False),
    ]
    passphrase = env.get("IDX_AUTH_PASSPHRASE_FILE")
    if passphrase:
        paths.append((Path(passphrase), "passphrase file (IDX_AUTH_PASSPHRASE_FILE)", False))
    return paths


def resolve_dirs(env: Mapping[str, str] | None = None) -> Dirs:
    env = os.environ if env is None else env
    data = env.get("IDX_AUTH_DATA_DIR") or _xdg(env, "XDG_DATA_HOME", ".local/share")
    config = env.get("IDX_AUTH_CONFIG_DIR") or _xdg(env, "XDG_CONFIG_HOME", ".config")
    runtime = env.get("IDX_AUTH_RUNTIME_DIR") or _runtime(env)
    return Dirs(Path(data), Path(config), Path(runtime))


def _xdg(env: Mapping[str, str], var: str, fallback: str) -> str:
    # platformdirs reads os.environ itself; with an injected mapping we follow the XDG rules here
    # so tests and the agent see the same answer for the same environment.
    # On Linux platformdirs applies these same XDG rules; importing it costs every keyring
    # lookup a few milliseconds, so it is loaded only where its answer differs (macOS).
    if env is os.environ and not sys.platform.startswith("linux"):
        import platformdirs

        if var == "XDG_DATA_HOME":
            return platformdirs.user_data_dir(APP, appauthor=False)
        return platformdirs.user_config_dir(APP, appauthor=False)
    given = env.get(var, "")
    base = given if given.strip() else str(Path(env.get("HOME", str(Path.home()))) / fallback)
    return str(Path(base) / APP)


def _runtime(env: Mapping[str, str]) -> str:
    xdg = env.get("XDG_RUNTIME_DIR")
    if xdg:
        return str(Path(xdg) / APP)
    # No session runtime dir (containers, CI): a per-user directory under the temp dir.
    tmp = env.get("TMPDIR") or "/tmp"
    return str(Path(tmp) / f"{APP}-{os.getuid()}")


def uv_credentials_file(env: Mapping[str, str], home: Path) -> Path:
    """Where uv keeps its own plaintext ``credentials.toml``, by uv's rules."""
    explicit = env.get("UV_CREDENTIALS_DIR")
    if explicit:
        return Path(explicit) / "credentials.toml"
    data = env.get("XDG_DATA_HOME") or str(home / ".local" / "share")
    return Path(data) / "uv" / "credentials" / "credentials.toml"
