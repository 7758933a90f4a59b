"""Rollback: an older copy of the store put back in its place is recognised and refused, with
the way out in the message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from keyring_idx.backend import IdxKeyring
from store import codec, generations
from store.dirs import Dirs, resolve_dirs
from store.errors import RollbackError
from store.model import Credential, Header
from store.vault import Vault
from tests.keyring_idx.cli import conftest as cli_conftest
from tests.keyring_idx.cli.conftest import Cli
from tests.store.agent.agentproc import agent_env, stop, wait_until_serving
from tests.store.reading import read_credential

cli = cli_conftest.cli


def secret_of(answer: object) -> str | None:
    """The secret of an agent's answer, None for anything but a credential."""
    return answer.secret if isinstance(answer, Credential) else None


SVC = "https://h.example/"


def generation_of(dirs: Dirs) -> int:
    header = codec.decode(dirs.store_file.read_text()).header
    assert header is not None
    return header.generation


def test_every_write_raises_the_generation_and_records_it(dirs: Dirs) -> None:
    v = Vault(dirs)
    v.login(SVC, "alice", "one")
    assert generation_of(dirs) == 1
    v.login(SVC, "alice", "two")
    v.login(SVC, "bob", "x")
    v.logout(SVC, "bob")
    assert generation_of(dirs) == 4
    v.rekey()
    assert generation_of(dirs) == 5  # the generation (and the store id) outlive a rekey
    (record,) = dirs.config.glob("generation-*")
    seen = generations.load(record)
    assert seen is not None and seen.generation == 5


def test_an_old_copy_put_back_is_refused_with_the_way_out(
    dirs: Dirs,
    cli: Cli,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    v = Vault(dirs)
    v.login(SVC, "alice", "revoked-password")
    old = dirs.store_file.read_bytes()
    v.login(SVC, "alice", "current-password")
    dirs.store_file.write_bytes(old)  # a backup restored, or an attacker reviving the old one
    with pytest.raises(RollbackError, match="generation 1, but generation 2") as info:
        read_credential(Vault(dirs), SVC, "alice")
    (record,) = dirs.config.glob("generation-*")
    assert f"delete {record}" in str(info.value)
    code, out, err = cli("token", SVC, "-u", "alice")
    assert (code, out) == (2, "") and "rolled back" in err
    monkeypatch.setattr("keyring_idx.backend._warned_store", False)  # it warns once a process
    ring = IdxKeyring()  # type: ignore[no-untyped-call]
    assert ring.get_password(SVC + "simple/", "alice") is None
    assert "rolled back" in capsys.readouterr().err
    with pytest.raises(RollbackError):
        Vault(dirs).login(SVC, "bob", "x")  # nothing is written over it either
    assert dirs.store_file.read_bytes() == old
    # The way out: the user meant it.
    record.unlink()
    found = read_credential(Vault(dirs), SVC, "alice")
    assert found is not None and found.secret == "revoked-password"


def test_a_long_lived_process_remembers_without_the_record(dirs: Dirs) -> None:
    v = Vault(dirs)
    v.login(SVC, "alice", "one")
    old = dirs.store_file.read_bytes()
    v.login(SVC, "alice", "two")
    reader = Vault(dirs)
    assert reader.read().header.generation == 2  # type: ignore[union-attr]
    for record in dirs.config.glob("generation-*"):
        record.unlink()  # whoever rolls back may also be able to remove the record
    dirs.store_file.write_bytes(old)
    with pytest.raises(RollbackError, match="already read generation 2"):
        reader.read()


def test_a_record_behind_the_file_is_fine(dirs: Dirs) -> None:
    # A crash between writing the store and its record leaves the record one behind.
    v = Vault(dirs)
    v.login(SVC, "alice", "one")
    (record,) = dirs.config.glob("generation-*")
    kept = record.read_bytes()
    v.login(SVC, "alice", "two")
    record.write_bytes(kept)
    found = read_credential(Vault(dirs), SVC, "alice")
    assert found is not None and found.secret == "two"


def test_a_new_store_in_the_same_place_is_not_a_rollback(dirs: Dirs) -> None:
    v = Vault(dirs)
    for i in range(3):
        v.login(SVC, "alice", f"pw{i}")
    dirs.store_file.unlink()  # moved aside by the user: nothing old comes back
    assert Vault(dirs).read().entries == ()
    Vault(dirs).login(SVC, "carol", "fresh")
    assert generation_of(dirs) == 1
    found = read_credential(Vault(dirs), SVC, "carol")
    assert found is not None and found.secret == "fresh"


def test_judge_is_pure() -> None:
    record = Path("/r")
    seen = generations.Seen("s", 5)
    h = Header("k", "file", "w", store_id="s", generation=5)
    assert generations.judge(h, True, seen, record) is None
    assert generations.judge(h, True, None, record) is None
    behind = Header("k", "file", "w", store_id="s", generation=4)
    older = generations.judge(behind, True, seen, record)
    assert older is not None and "generation 4" in older and "delete /r" in older
    other = Header("k", "file", "w", store_id="t", generation=1)
    assert generations.judge(other, True, seen, record) is None
    legacy = Header("k", "file", "w", format=1)
    assert "older format" in (generations.judge(legacy, True, seen, record) or "")
    assert generations.judge(None, False, seen, record) is None


def test_the_agent_refuses_a_rolled_back_store(tmp_path: Path) -> None:
    env = agent_env(tmp_path)
    dirs = resolve_dirs(env)
    v = Vault(dirs, env=env)
    v.login(SVC, "alice", "old")
    old = dirs.store_file.read_bytes()
    v.login(SVC, "alice", "new")
    sock = Path(env["IDX_AUTH_RUNTIME_DIR"]) / "agent.sock"
    proc = subprocess.Popen(
        [sys.executable, "-m", "keyring_idx.cli", "agent"], env=env, stderr=subprocess.PIPE
    )
    try:
        wait_until_serving(sock, proc)
        from store.agent import client

        assert secret_of(client.get(SVC + "simple/", "alice", path=str(sock))) == "new"
        dirs.store_file.write_bytes(old)
        assert client.get(SVC + "simple/", "alice", path=str(sock)) is None
        assert proc.poll() is None
    finally:
        stop(proc)
