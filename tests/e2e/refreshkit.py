"""Shared pieces of the token-refresh end-to-end tests: environment, agent process, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from store.agent import client
from store.dirs import resolve_dirs
from store.model import Credential
from store.refresh import entries
from store.vault import Vault
from tests.store.agent.agentproc import agent_env, wait_until_serving
from tests.store.refresh.authority import Authority

USER = "ci"


class Setup:
    """One test's isolated world: env for child processes, the store, the agent socket."""

    def __init__(self, tmp_path: Path, **extra: str) -> None:
        self.tmp_path = tmp_path
        self.env = agent_env(tmp_path, **extra)
        self.env["PATH"] = f"{Path(sys.executable).parent}:{self.env.get('PATH', '')}"
        self.sock = str(Path(self.env["IDX_AUTH_RUNTIME_DIR"]) / "agent.sock")

    def vault(self) -> Vault:
        return Vault(resolve_dirs(self.env), env=self.env)

    def login(self, service: str, authority: Authority, timeout: float = 1.0) -> None:
        """Log in with the oauth2 provider; ``timeout`` bounds each fetch (hanging endpoint)."""
        now = datetime.now(UTC)
        entries.login(self.vault(), service, USER, authority.spec(timeout), now=now)

    def idx(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "keyring_idx.cli", *args],
            env=self.env,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def status(self) -> dict[str, Any]:
        done = self.idx("status", "--json")
        value: dict[str, Any] = json.loads(done.stdout)
        return value

    def start_agent(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "keyring_idx.cli", "agent"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait_until_serving(Path(self.sock), proc)
        return proc

    def lookup(self, url: str) -> str | None:
        """The token the agent hands out for ``url`` (None: nothing; fails if no agent)."""
        got = client.get(url, USER, timeout=5.0, path=self.sock)
        assert got is not client.NOT_RUNNING, "the agent stopped answering"
        return got.secret if isinstance(got, Credential) else None


def wait_for(predicate: Callable[[], bool], limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def concurrent_answers(argv: list[str], env: dict[str, str], times: int) -> list[str]:
    """Run ``argv`` ``times`` times at once; each run's stdout (or its failure)."""
    answers: list[str] = []

    def once() -> None:
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
        )
        answers.append(done.stdout.strip() if done.returncode == 0 else f"failed: {done.stderr}")

    threads = [threading.Thread(target=once) for _ in range(times)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return answers
