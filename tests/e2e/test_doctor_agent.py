"""``idx-auth doctor`` as a process, beside a real agent process over a real store in tmp."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from store.dirs import resolve_dirs
from store.vault import Vault
from tests.store.agent.agentproc import agent_env, stop
from tests.store.agent.test_real_store import start_real

pytestmark = pytest.mark.timeout(120)

SVC = "https://pypi.example.com/api/pypi"
PASSPHRASE = "correct horse battery staple"
SECRET = "pw-alice-secret"


def doctor(tmp_path: Path, *extra_args: str, tty: bool = False, **env: str) -> dict[str, Any]:
    """Run `idx-auth doctor --json --no-probe`; with ``tty`` its stdin is a terminal, so a
    prompt would block (and time out) instead of failing fast."""
    full = agent_env(tmp_path, **env)
    full["PATH"] = str(tmp_path / "empty-bin")
    (tmp_path / "empty-bin").mkdir(exist_ok=True)
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    primary = replica = None
    if tty:
        primary, replica = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "keyring_idx.cli", "doctor", "--json", "--no-probe"],
            env=full,
            cwd=project,
            stdin=replica if tty else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        for fd in (primary, replica):
            if fd is not None:
                os.close(fd)
    assert SECRET not in result.stdout + result.stderr
    assert PASSPHRASE not in result.stdout + result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    return {"code": result.returncode, **checks}


def keyring_get(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The real keyring command (as a module), with our backend, for alice at SVC."""
    full = agent_env(tmp_path, PYTHON_KEYRING_BACKEND="keyring_idx.backend.IdxKeyring", **env)
    return subprocess.run(
        [sys.executable, "-m", "keyring", "get", SVC + "/simple/", "alice"],
        env=full,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def vault(tmp_path: Path, **extra: str) -> Vault:
    env = agent_env(tmp_path, **extra)
    return Vault(resolve_dirs(env), env=env)


def test_file_store_with_and_without_the_agent(tmp_path: Path) -> None:
    vault(tmp_path).login(SVC, "alice", SECRET)
    alone = doctor(tmp_path)
    assert alone["store"]["verdict"] == "ok" and "1 credential in" in alone["store"]["detail"]
    assert alone["agent"]["verdict"] == "ok" and "not running" in alone["agent"]["detail"]
    proc, _sock = start_real(tmp_path)
    try:
        running = doctor(tmp_path)
        assert running["agent"]["verdict"] == "ok"
        assert running["agent"]["detail"] == f"running (pid {proc.pid}), unlocked"
    finally:
        assert stop(proc) == 0


def test_missing_key_file_fails_the_store_check(tmp_path: Path) -> None:
    vault(tmp_path).login(SVC, "alice", SECRET)
    resolve_dirs(agent_env(tmp_path)).key_file.unlink()
    checks = doctor(tmp_path)
    assert checks["code"] == 1
    assert checks["store"]["verdict"] == "fail" and "key file" in checks["store"]["detail"]


def test_passphrase_store_locked_then_unlocked_never_prompting(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text(PASSPHRASE + "\n")
    pw.chmod(0o600)  # a passphrase file must be private
    vault(tmp_path, IDX_AUTH_KEY_SOURCE="passphrase", IDX_AUTH_PASSPHRASE_FILE=str(pw)).login(
        SVC, "alice", SECRET
    )
    # No agent, a terminal on stdin: doctor says "locked" instead of asking.
    alone = doctor(tmp_path, tty=True)
    assert alone["code"] == 1
    assert alone["store"]["verdict"] == "fail" and "locked" in alone["store"]["detail"]
    assert "idx-auth unlock" in alone["store"]["fix"]
    assert alone["agent"]["verdict"] == "warn"
    # With the passphrase file doctor can check the key itself; a wrong one fails.
    assert doctor(tmp_path, IDX_AUTH_PASSPHRASE_FILE=str(pw))["store"]["verdict"] == "ok"
    bad = tmp_path / "bad"
    bad.write_text("wrong\n")
    bad.chmod(0o600)  # a passphrase file must be private
    assert doctor(tmp_path, IDX_AUTH_PASSPHRASE_FILE=str(bad))["store"]["verdict"] == "fail"
    proc, _sock = start_real(tmp_path)
    try:
        locked = doctor(tmp_path, tty=True)
        assert locked["code"] == 1
        assert locked["store"]["verdict"] == "fail"
        assert locked["store"]["fix"] == "idx-auth unlock"
        assert locked["agent"]["verdict"] == "fail" and locked["agent"]["fix"] == "idx-auth unlock"
        # A lookup through the locked agent says so, once, instead of a silent "not found".
        r = keyring_get(tmp_path)
        assert (r.returncode, r.stdout) == (1, "")
        assert r.stderr == "idx-auth: the agent is locked: run `idx-auth unlock`\n"
        # With a passphrase file the lookup opens the store itself.
        r = keyring_get(tmp_path, IDX_AUTH_PASSPHRASE_FILE=str(pw))
        assert (r.returncode, r.stdout) == (0, SECRET + "\n"), r.stderr
        with_file = doctor(tmp_path, IDX_AUTH_PASSPHRASE_FILE=str(pw))
        assert with_file["agent"]["verdict"] == "warn" and with_file["code"] == 0
        unlock = subprocess.run(
            [sys.executable, "-m", "keyring_idx.cli", "unlock"],
            env=agent_env(tmp_path, IDX_AUTH_PASSPHRASE_FILE=str(pw)),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
        )
        assert unlock.returncode == 0, unlock.stderr
        unlocked = doctor(tmp_path)
        assert unlocked["store"]["verdict"] == "ok"
        assert f"unlocked in the agent (pid {proc.pid})" in unlocked["store"]["detail"]
        assert unlocked["agent"]["verdict"] == "ok"
    finally:
        assert stop(proc) == 0
