"""Start and stop real agent processes (the daemon over the in-memory store) for tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from store.agent import client
from store.agent import protocol as p

ROOT = Path(__file__).resolve().parents[3]


def agent_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID"):
        env.pop(name, None)
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        IDX_AUTH_RUNTIME_DIR=str(tmp_path / "agent-run"),
        IDX_AUTH_DATA_DIR=str(tmp_path / "data"),
        IDX_AUTH_CONFIG_DIR=str(tmp_path / "config"),
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


def fake_agent_cmd(sock: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tests.store.agent.fake_agent", "--socket", str(sock), *args]


def wait_until_serving(sock: Path, proc: subprocess.Popen[bytes], limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"agent exited early with {proc.returncode}")
        try:
            if client.request(p.Status(), path=str(sock), timeout=1.0).ok:
                return
        except client.AgentUnavailable:
            time.sleep(0.02)
    raise AssertionError("agent did not start serving")


def start(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    sock = tmp_path / "agent-run" / "agent.sock"
    proc = subprocess.Popen(
        fake_agent_cmd(sock, *args), env=env or agent_env(tmp_path), stderr=subprocess.PIPE
    )
    wait_until_serving(sock, proc)
    return proc


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    if proc.poll() is None:
        os.kill(proc.pid, sig)
    try:
        return proc.wait(15)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
