"""`idx-auth agent` over the real encrypted store, in a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from store.agent import client
from store.agent import protocol as p
from store.dirs import resolve_dirs
from store.model import Ambiguous
from store.vault import Vault
from tests.store.agent.agentproc import agent_env, stop, wait_until_serving
from tests.store.agent.answers import get_pair
from tests.store.reading import read_credential

SVC = "https://pypi.example.com/api/pypi"


def start_real(tmp_path: Path, *args: str, **extra: str) -> tuple[subprocess.Popen[bytes], str]:
    env = agent_env(tmp_path, **extra)
    sock = Path(env["IDX_AUTH_RUNTIME_DIR"]) / "agent.sock"
    proc = subprocess.Popen(
        [sys.executable, "-m", "keyring_idx.cli", "agent", *args],
        env=env,
        stderr=subprocess.PIPE,
    )
    wait_until_serving(sock, proc)
    return proc, str(sock)


def vault(tmp_path: Path, **extra: str) -> Vault:
    env = agent_env(tmp_path, **extra)
    return Vault(resolve_dirs(env), env=env)


def test_lookups_follow_cli_writes_and_survive_an_unreadable_key(tmp_path: Path) -> None:
    v = vault(tmp_path)
    v.login(SVC, "alice", "pw-alice")
    proc, sock = start_real(tmp_path)
    try:
        assert get_pair(SVC + "/simple/", "alice", path=sock) == ("alice", "pw-alice")
        assert get_pair(SVC + "/simple/", path=sock) == ("alice", "pw-alice")
        # Another process writes: the agent sees it before answering.
        v.login(SVC, "bob", "pw-bob")
        assert get_pair(SVC + "/simple/", "bob", path=sock) == ("bob", "pw-bob")
        assert get_pair(SVC + "/simple/", path=sock) == Ambiguous(
            SVC + "/simple/", ("alice", "bob")
        )
        v.logout(SVC, "bob")
        assert get_pair(SVC + "/simple/", "bob", path=sock) is None
        # The agent answers from memory even when the key file cannot be read.
        key_file = resolve_dirs(agent_env(tmp_path)).key_file
        key_file.rename(key_file.with_name("key.away"))
        assert get_pair(SVC + "/simple/", "alice", path=sock) == ("alice", "pw-alice")
        status = client.request(p.Status(), path=sock).data
        assert status["entry_count"] == 1 and status["locked"] is False
    finally:
        assert stop(proc) == 0


def test_login_logout_through_the_agent_and_lookup_right_after(tmp_path: Path) -> None:
    vault(tmp_path).login(SVC, "alice", "pw-alice")
    proc, sock = start_real(tmp_path)
    try:
        for i in range(20):
            secret = f"pw-{i}"
            assert client.request(p.Login(SVC, "u", "basic", secret), path=sock).ok
            assert get_pair(SVC, "u", path=sock) == ("u", secret)
            assert client.request(p.Logout(SVC, "u"), path=sock).ok
            assert get_pair(SVC, "u", path=sock) is None
        # The file agrees with the agent.
        assert read_credential(vault(tmp_path), SVC, "u") is None
        assert client.request(p.Logout(SVC, "u"), path=sock).status == p.NOT_FOUND
    finally:
        stop(proc)


def test_concurrent_cli_writes_while_serving(tmp_path: Path) -> None:
    vault(tmp_path).login(SVC, "alice", "pw-alice")
    proc, sock = start_real(tmp_path)
    bad: list[object] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            got = get_pair(SVC, "alice", path=sock)
            if got != ("alice", "pw-alice"):
                bad.append(got)

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for t in readers:
        t.start()
    try:
        env = agent_env(tmp_path)
        writers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "import sys\nfrom store.vault import Vault\n"
                    "for i in range(10):\n"
                    f"    Vault().login('https://w.example.com/', 'w{n}-' + str(i), 'x')\n",
                ],
                env=env,
            )
            for n in range(3)
        ]
        for w in writers:
            assert w.wait(120) == 0
        via_agent = [client.request(p.Status(), path=sock).data["entry_count"]]
    finally:
        done.set()
        for t in readers:
            t.join(30)
        stop(proc)
    assert bad == []
    assert via_agent == [31]
    assert len(vault(tmp_path).read().entries) == 31


def test_passphrase_store_needs_unlock(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("correct horse\n")
    pw.chmod(0o600)  # a passphrase file must be private
    v = vault(tmp_path, IDX_AUTH_KEY_SOURCE="passphrase", IDX_AUTH_PASSPHRASE_FILE=str(pw))
    v.login(SVC, "alice", "pw-alice")
    proc, sock = start_real(tmp_path)
    try:
        assert get_pair(SVC, "alice", path=sock) is client.LOCKED
        assert client.request(p.Status(), path=sock).data["locked"] is True
        assert client.request(p.Unlock("wrong"), path=sock).status == p.FAILED
        assert client.request(p.Unlock("correct horse"), path=sock).ok
        assert get_pair(SVC, "alice", path=sock) == ("alice", "pw-alice")
    finally:
        stop(proc)


def test_sigkill_leaves_the_store_intact_and_a_restart_serves(tmp_path: Path) -> None:
    vault(tmp_path).login(SVC, "alice", "pw-alice")
    proc, sock = start_real(tmp_path)
    stop_flag = threading.Event()

    def write() -> None:
        i = 0
        while not stop_flag.is_set():
            try:
                client.request(p.Login(SVC, f"k{i % 5}", "basic", "x"), path=sock, timeout=5)
            except client.AgentUnavailable:
                return  # killed mid-write: what we are testing
            i += 1

    writer = threading.Thread(target=write)
    try:
        writer.start()
        while not vault(tmp_path).read().entries[1:]:
            pass
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        stop_flag.set()
        writer.join(30)
        stop(proc)
    assert get_pair(SVC, "alice", path=sock) is client.NOT_RUNNING
    assert read_credential(vault(tmp_path), SVC, "alice") is not None  # parses and decrypts
    proc, sock = start_real(tmp_path)
    try:
        assert get_pair(SVC, "alice", path=sock) == ("alice", "pw-alice")
    finally:
        stop(proc)
