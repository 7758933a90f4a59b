"""A store of 10,000 entries works through every command, with a real agent serving it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from store.agent import client
from store.dirs import Dirs
from store.model import Credential, Document
from store.sealing import Sealer
from store.vault import Vault

COUNT = 10_000
IDX = [sys.executable, "-m", "keyring_idx.cli"]


def run(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*IDX, *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def fill(dirs: Dirs) -> None:
    def change(doc: Document, sealer: Sealer) -> tuple[Document, None]:
        made = tuple(
            sealer.entry(f"https://h{i}.example.com/simple", f"user-{i}", "basic", f"pw-{i}")
            for i in range(COUNT)
        )
        return replace(doc, entries=doc.entries + made), None

    Vault(dirs).update(change)


def test_ten_thousand_entries_through_the_agent(dirs: Dirs, tmp_path: Path) -> None:
    fill(dirs)
    listed = run("list")
    assert listed.returncode == 0 and len(listed.stderr.splitlines()) == COUNT
    agent = subprocess.Popen([*IDX, "agent"], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while client.get("https://h1.example.com/simple", "user-1") is client.NOT_RUNNING:
            assert time.monotonic() < deadline, "agent did not come up"
            time.sleep(0.1)
        status = run("status", "--json")
        assert status.returncode == 0, status.stderr
        data = json.loads(status.stdout)
        assert data["agent"] == "running" and data["entry_count"] == COUNT
        assert len(data["entries"]) == COUNT
        assert {e["username"] for e in data["entries"]} == {f"user-{i}" for i in range(COUNT)}
        assert "entries: 10000" in run("status").stderr
        last = COUNT - 1
        got = client.get(f"https://h{last}.example.com/simple/pkg/", f"user-{last}")
        assert isinstance(got, Credential) and got.secret == f"pw-{last}"
        token = run("token", f"https://h{last}.example.com/simple", "-u", f"user-{last}")
        assert (token.returncode, token.stdout) == (0, f"pw-{last}\n")
        done = run("login", "https://new.example.com/", "-u", "n", "--password", "-", stdin="p\n")
        assert done.returncode == 0, done.stderr
        assert json.loads(run("status", "--json").stdout)["entry_count"] == COUNT + 1
    finally:
        agent.terminate()
        agent.wait(30)
