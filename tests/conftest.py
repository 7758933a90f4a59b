"""Every test runs with HOME, the XDG dirs and our own dirs inside its tmp_path."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from store.dirs import Dirs

if TYPE_CHECKING:
    from tests.store.refresh.openbao import OpenBao

# Shared 2-core machines: generation and example time vary with load, so no deadlines.
settings.register_profile(
    "idx", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("idx")

_SCRUB_PREFIXES = (
    "UV_",
    "IDX_AUTH_",
    "PYTHON_KEYRING",
    "KEYRING_",
    "PIP_",
    "XDG_",
    # The vault provider reads these (a developer's own Vault, a CI job's ID-token service).
    "VAULT_",
    "BAO_",
    "ACTIONS_ID_TOKEN_",
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    for name in list(os.environ):
        if name.startswith(_SCRUB_PREFIXES) or name in ("NETRC", "SSL_CERT_FILE", "SSL_CERT_DIR"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_STATE_HOME", ".local/state"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("IDX_AUTH_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("IDX_AUTH_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("IDX_AUTH_RUNTIME_DIR", str(runtime / "idx-auth"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    yield home


@pytest.fixture(scope="session")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBao]:
    """One real OpenBao dev server for the session (see tests/store/refresh/openbao.py)."""
    from tests.store.refresh.openbao import running

    with running(tmp_path_factory.mktemp("openbao")) as server:
        yield server


@pytest.fixture(autouse=True)
def _vault_sessions() -> Iterator[None]:
    """The vault provider keeps Vault logins in memory for the process; not across tests."""
    yield
    from store.refresh.providers import vault

    vault.forget_all()


@pytest.fixture
def dirs(isolated_home: Path) -> Dirs:
    from store.dirs import resolve_dirs

    return resolve_dirs()


@pytest.fixture(autouse=True)
def _unfreeze_gc() -> Iterator[None]:
    """``idx-auth`` freezes the collector's view after its imports (cli.base.importing), which
    suits a process that exits soon; in this long test process, hand the objects back."""
    yield
    gc.unfreeze()
