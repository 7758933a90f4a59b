from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from keyring_idx.cli import main
from keyring_idx.cli.setup import keyringrc_path, uv_advice
from keyring_idx.clients import keyringrc
from keyring_idx.clients.keyringrc import SELECTOR
from store.dirs import Dirs
from store.vault import Vault


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_keeps_other_settings_and_refuses_another_choice() -> None:
    plan = keyringrc.plan(None, "/sel", force=False)
    assert plan.text is not None and plan.replaced is None
    assert f"default-keyring = {keyringrc.SELECTOR}" in plan.text
    assert "keyring-path = /sel" in plan.text
    assert keyringrc.plan(plan.text, "/sel", force=False) == keyringrc.Plan(None, SELECTOR)
    other = "[backend]\ndefault-keyring = keyrings.alt.file.PlaintextKeyring\n[x]\ny = 1\n"
    with pytest.raises(keyringrc.KeyringrcError, match="--force"):
        keyringrc.plan(other, "/sel", force=False)
    plan = keyringrc.plan(other, "/sel", force=True)
    assert plan.replaced == "keyrings.alt.file.PlaintextKeyring"
    assert plan.text is not None and "[x]" in plan.text and SELECTOR in plan.text
    with pytest.raises(keyringrc.KeyringrcError, match="keyring-path"):
        keyringrc.plan("[backend]\nkeyring-path = /mine\n", "/sel", force=False)
    with pytest.raises(keyringrc.KeyringrcError, match="not a valid INI"):
        keyringrc.plan("no section header", "/sel", force=False)


def test_chooses_us() -> None:
    plan = keyringrc.plan(None, "/sel", force=False)
    assert plan.text is not None and keyringrc.chooses_us(plan.text) is True
    assert keyringrc.chooses_us(f"[backend]\ndefault-keyring = {keyringrc.BACKEND}\n") is True
    assert keyringrc.chooses_us("[backend]\ndefault-keyring = x.Y\n") is False
    assert keyringrc.chooses_us("[other]\n") is None


def test_plan_upgrades_a_file_that_named_the_backend_directly() -> None:
    old = f"[backend]\ndefault-keyring = {keyringrc.BACKEND}\n"
    assert keyringrc.selects_backend_directly(old)
    plan = keyringrc.plan(old, "/sel", force=False)
    assert plan.replaced == keyringrc.BACKEND
    assert plan.text is not None and not keyringrc.selects_backend_directly(plan.text)


def test_setup_keyring_writes_keyrings_own_config_file(
    capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    path = keyringrc_path()
    assert path == isolated_home / ".config" / "python_keyring" / "keyringrc.cfg"
    code, out, err = run(capsys, "setup", "keyring")
    assert (code, out) == (0, "") and str(path) in err
    assert f"default-keyring = {SELECTOR}" in path.read_text()
    module = path.parent / keyringrc.SELECTOR_DIR / f"{keyringrc.SELECTOR_MODULE}.py"
    assert module.read_text() == keyringrc.SELECTOR_SOURCE
    assert run(capsys, "setup", "keyring")[0] == 0  # idempotent
    path.write_text("[backend]\ndefault-keyring = keyring.backends.fail.Keyring\n")
    code, _, err = run(capsys, "setup", "keyring")
    assert code == 2 and "--force" in err
    assert "fail.Keyring" in path.read_text()
    assert run(capsys, "setup", "keyring", "--force")[0] == 0
    assert SELECTOR in path.read_text()

    import keyring.core

    try:
        assert type(keyring.core.load_config()).__name__ == "IdxKeyring"
    finally:
        # load_config put the selector's directory on this process's sys.path
        sys.path[:] = [p for p in sys.path if keyringrc.SELECTOR_DIR not in p]
        sys.modules.pop(keyringrc.SELECTOR_MODULE, None)


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
