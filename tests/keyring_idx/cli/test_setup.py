from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from keyring_idx.cli import main
from keyring_idx.cli.base import CliError
from keyring_idx.cli.setup import BACKEND, keyringrc_path, plan_keyringrc, uv_advice
from store.dirs import Dirs
from store.vault import Vault


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_keeps_other_settings_and_refuses_another_choice() -> None:
    new, replaced = plan_keyringrc(None, force=False)
    assert new is not None and f"default-keyring = {BACKEND}" in new and replaced is None
    assert plan_keyringrc(new, force=False) == (None, BACKEND)
    other = "[backend]\ndefault-keyring = keyrings.alt.file.PlaintextKeyring\nkeyring-path = /x\n"
    with pytest.raises(CliError, match="--force"):
        plan_keyringrc(other, force=False)
    new, replaced = plan_keyringrc(other, force=True)
    assert replaced == "keyrings.alt.file.PlaintextKeyring"
    assert new is not None and "keyring-path = /x" in new and BACKEND in new
    with pytest.raises(CliError, match="not a valid INI"):
        plan_keyringrc("no section header", force=False)


def test_setup_keyring_writes_keyrings_own_config_file(
    capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    path = keyringrc_path()
    assert path == isolated_home / ".config" / "python_keyring" / "keyringrc.cfg"
    code, out, err = run(capsys, "setup", "keyring")
    assert (code, out) == (0, "") and str(path) in err
    assert f"default-keyring = {BACKEND}" in path.read_text()
    assert run(capsys, "setup", "keyring")[0] == 0  # idempotent
    path.write_text("[backend]\ndefault-keyring = keyring.backends.fail.Keyring\n")
    code, _, err = run(capsys, "setup", "keyring")
    assert code == 2 and "--force" in err
    assert "fail.Keyring" in path.read_text()
    assert run(capsys, "setup", "keyring", "--force")[0] == 0
    assert BACKEND in path.read_text()

    import keyring.core

    assert type(keyring.core.load_config()).__name__ == "IdxKeyring"


def test_uv_advice() -> None:
    [item] = uv_advice([("https://h.example/api", "aws")])
    assert item["url_with_username"] == "https://aws@h.example/api/simple/"
    assert item["env"] == "UV_INDEX_<NAME>_USERNAME=aws"


def test_setup_uv_prints_per_index_settings(
    capsys: pytest.CaptureFixture[str], dirs: Dirs, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "setup", "uv")[0] == 1
    Vault(dirs).login("https://h.example/api", "alice", "s3cret")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, out, _ = run(capsys, "setup", "uv")
    assert code == 0
    assert 'keyring-provider = "subprocess"' in out
    assert 'url = "https://alice@h.example/api/simple/"' in out
    assert 'authenticate = "always"' in out
    assert "s3cret" not in out
    code, out, _ = run(capsys, "setup", "uv", "--json")
    doc = json.loads(out)
    assert doc["keyring-provider"] == "subprocess"
    assert [i["username"] for i in doc["indexes"]] == ["alice"]
