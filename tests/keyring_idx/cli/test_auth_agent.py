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
