"""login/logout go through a running agent, and the agent serves the change at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from store.agent import client
from store.dirs import Dirs
from store.model import Credential

BIN = Path(sys.executable).parent


def cli(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "idx-auth"), *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def test_login_and_logout_through_the_agent(dirs: Dirs) -> None:
    assert (
        cli("login", "https://h.example/", "-u", "seed", "--password", "-", stdin="s\n").returncode
        == 0
    )
    agent = subprocess.Popen([str(BIN / "idx-auth"), "agent"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while client.get("https://h.example/", "seed") is client.NOT_RUNNING:
            assert time.monotonic() < deadline, "agent did not come up"
            time.sleep(0.05)
        # The key file goes away: only the agent (which holds the key) can write now.
        os.rename(dirs.key_file, dirs.key_file.with_name("key.away"))
        done = cli("login", "https://h.example/", "-u", "alice", "--password", "-", stdin="pw\n")
        assert done.returncode == 0, done.stderr
        got = client.get("https://h.example/", "alice")
        assert isinstance(got, Credential) and (got.username, got.secret) == ("alice", "pw")
        gone = cli("logout", "https://h.example/", "-u", "alice")
        assert gone.returncode == 0, gone.stderr
        assert client.get("https://h.example/", "alice") is None
        again = cli("logout", "https://h.example/", "-u", "alice")
        assert again.returncode == 1 and "No matching entry found for alice@" in again.stderr
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=20)
    os.rename(dirs.key_file.with_name("key.away"), dirs.key_file)
    token = cli("token", "https://h.example/", "-u", "alice")
    assert token.returncode == 1


def test_commands_of_another_store_do_not_use_this_stores_agent(dirs: Dirs, tmp_path: Path) -> None:
    # One runtime dir (so one socket), two data dirs: the agent serves the first store only.
    assert (
        cli("login", "https://h.example/", "-u", "seed", "--password", "-", stdin="s\n").returncode
        == 0
    )
    other = dict(os.environ)
    other["IDX_AUTH_DATA_DIR"] = str(tmp_path / "other-data")
    other["IDX_AUTH_CONFIG_DIR"] = str(tmp_path / "other-config")

    def cli_other(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "idx-auth"), *argv],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            env=other,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )

    agent = subprocess.Popen([str(BIN / "idx-auth"), "agent"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while client.get("https://h.example/", "seed") is client.NOT_RUNNING:
            assert time.monotonic() < deadline, "agent did not come up"
            time.sleep(0.05)
        # The other store's secret is not this store's: not returned through the agent.
        leaked = cli_other("token", "https://h.example/", "-u", "seed")
        assert leaked.returncode == 1 and leaked.stdout == ""
        listed = cli_other("list", "--json")  # the quick path names its store too
        assert "seed" not in listed.stdout
        # A login under the other store lands in the other store's file, not the agent's.
        done = cli_other("login", "https://h.example/", "-u", "bob", "--password", "-", stdin="b\n")
        assert done.returncode == 0, done.stderr
        assert client.get("https://h.example/", "bob") is None
        assert "bob" not in dirs.store_file.read_text()
        mine = cli_other("token", "https://h.example/", "-u", "bob")
        assert (mine.returncode, mine.stdout) == (0, "b\n")
        status = cli_other("status", "--json")
        assert status.returncode == 3 and str(dirs.store_file) in status.stdout
        assert "serves" in cli_other("status").stderr
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=20)


def test_the_agent_refuses_an_entry_no_reader_would_accept(dirs: Dirs) -> None:
    from store.agent import protocol as p

    assert (
        cli("login", "https://h.example/", "-u", "seed", "--password", "-", stdin="s\n").returncode
        == 0
    )
    agent = subprocess.Popen([str(BIN / "idx-auth"), "agent"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while client.get("https://h.example/", "seed") is client.NOT_RUNNING:
            assert time.monotonic() < deadline, "agent did not come up"
            time.sleep(0.05)
        for bad in (
            p.Login("https://b.example/", "x", "bearer", "tok"),
            p.Login("not a url", "x", "basic", "pw"),
            p.Login("http://remote.example/", "x", "basic", "pw"),
        ):
            reply = client.request(bad, timeout=10.0, store=str(dirs.store_file))
            assert reply.status == p.INVALID, (bad.service, reply)
        token = cli("token", "https://h.example/", "-u", "seed")
        assert (token.returncode, token.stdout) == (0, "s\n")
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=20)
