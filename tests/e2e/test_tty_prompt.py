"""Secrets typed at a real terminal prompt (a pty), never echoed."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time

import pytest

from store.dirs import Dirs
from store.vault import Vault
from tests.e2e.conftest import tool
from tests.store.reading import read_credential

CTRL_D = "\x04"


def talk(argv: list[str], answers: list[str], timeout: float = 30) -> tuple[int, str]:
    """Run ``argv`` on a pty, typing each answer after the next prompt; (exit code, screen)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True, close_fds=True
    )
    os.close(slave)
    screen = b""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                screen += chunk
                # A prompt is new output ending in ":"; the newline echoed after an answer is not.
                if pending and chunk.rstrip().endswith(b":"):
                    answer = pending.pop(0)
                    # Ctrl-D (end of input) is typed alone, without Enter.
                    os.write(master, answer.encode() + (b"" if answer == CTRL_D else b"\n"))
            elif proc.poll() is not None:
                break
        return proc.wait(timeout=10), screen.decode(errors="replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()


def test_login_prompts_for_username_and_password_without_echo(dirs: Dirs) -> None:
    code, screen = talk(
        [tool("idx-auth"), "login", "https://h.example/simple/"], ["alice", "typed-secret-42"]
    )
    assert code == 0, screen
    assert "username:" in screen and "password:" in screen
    assert "typed-secret-42" not in screen  # the terminal did not echo it
    found = read_credential(Vault(dirs), "https://h.example/", "alice")
    assert found is not None and found.secret == "typed-secret-42"


def test_passphrase_store_asks_twice_on_creation(
    dirs: Dirs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDX_AUTH_KEY_SOURCE", "passphrase")
    code, screen = talk(
        [tool("idx-auth"), "login", "https://h.example/", "-u", "bob"],
        ["pw-for-bob", "my long passphrase", "my long passphrase"],
    )
    assert code == 0, screen
    assert screen.count("passphrase") >= 2 and "my long passphrase" not in screen
    opened = Vault(dirs, passphrase=lambda confirm: "my long passphrase")
    found = read_credential(opened, "https://h.example/", "bob")
    assert found is not None and found.secret == "pw-for-bob"


def test_ctrl_d_at_a_prompt_is_one_line_and_exit_2(
    dirs: Dirs, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, screen = talk([tool("idx-auth"), "login", "https://h.example/", "-u", "bob"], [CTRL_D])
    assert code == 2, screen
    assert "idx-auth: error: no password given (end of input); nothing stored" in screen
    assert "Traceback" not in screen
    monkeypatch.setenv("IDX_AUTH_KEY_SOURCE", "passphrase")
    code, screen = talk(
        [tool("idx-auth"), "login", "https://h.example/", "-u", "bob"], ["pw-for-bob", CTRL_D]
    )
    assert code == 2, screen
    assert "idx-auth: error: no passphrase given (end of input); nothing changed" in screen
    assert "Traceback" not in screen and "protected by a passphrase" not in screen
    assert not Vault(dirs).path.exists()  # nothing was written
