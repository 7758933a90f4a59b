from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from store.agent import client
from store.dirs import resolve_dirs
from tests.store.agent.agentproc import ROOT


def test_importing_the_client_pulls_in_no_heavy_modules() -> None:
    # Nor the message records: the keyring backend's lookup needs only the framing.
    code = (
        "import sys, json; import store.agent.client; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('cryptography', 'httpx', 'tomllib', 'platformdirs', 'keyring_idx', 'tomli_w')"
        " or m == 'store.agent.protocol')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert json.loads(out) == []


def test_socket_path_follows_store_dirs(tmp_path: Path) -> None:
    envs = [
        {"IDX_AUTH_RUNTIME_DIR": str(tmp_path / "r"), "HOME": str(tmp_path)},
        {"XDG_RUNTIME_DIR": str(tmp_path / "x"), "HOME": str(tmp_path)},
        {"TMPDIR": str(tmp_path / "t"), "HOME": str(tmp_path)},
        {"HOME": str(tmp_path)},
    ]
    for env in envs:
        assert client.socket_path(env) == str(resolve_dirs(env).socket)


@pytest.mark.parametrize(
    "env",
    [
        {"IDX_AUTH_DATA_DIR": "/srv/idx/data/", "HOME": "/home/u"},
        {"XDG_DATA_HOME": "/x/share", "HOME": "/home/u"},
        {"XDG_DATA_HOME": "  ", "HOME": "/home/u"},
        {"HOME": "/home/u"},
    ],
)
def test_the_transport_names_the_store_the_dirs_rule_names(env: dict[str, str]) -> None:
    # The launcher and the CLI's quick path name their store with os.path alone; an agent
    # compares it with its own, so both rules must agree.
    from store.agent import transport
    from store.dirs import resolve_dirs

    assert transport.store_file(env) == str(resolve_dirs(env).store_file)
