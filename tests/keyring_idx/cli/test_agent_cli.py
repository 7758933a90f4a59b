"""``idx-auth status / lock / unlock / setup systemd`` against a real agent process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from store.agent.units import DEFAULT_EXEC, render
from tests.store.agent.agentproc import ROOT, agent_env, start, stop
from tests.store.agent.fakes import PASSPHRASE

IDX = [sys.executable, "-m", "keyring_idx.cli"]


def idx(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*IDX, *args],
        env=agent_env(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_status_without_agent_exits_3(tmp_path: Path) -> None:
    result = idx(tmp_path, "status", "--json")
    assert result.returncode == 3
    status = json.loads(result.stdout)
    assert status["agent"] == "not running"
    assert status["store"] == str(tmp_path / "data" / "credentials.toml")
    assert status["entry_count"] == 0
    assert "not running" in idx(tmp_path, "status").stderr
    assert idx(tmp_path, "lock").returncode == 3
    assert idx(tmp_path, "unlock").returncode == 3


def test_status_lock_unlock_with_a_passphrase_store(tmp_path: Path) -> None:
    proc = start(tmp_path, "--passphrase")
    try:
        result = idx(tmp_path, "status", "--json")
        assert result.returncode == 3
        status = json.loads(result.stdout)
        assert status["agent"] == "running" and status["locked"] is True
        assert status["entry_count"] == 52 and status["pid"] == proc.pid
        # No TTY and no passphrase file: a clear error, not a hang.
        assert idx(tmp_path, "unlock").returncode == 2
        pw = tmp_path / "pw"
        pw.write_text("wrong\n")
        pw.chmod(0o600)  # a passphrase file must be private
        bad = idx(tmp_path, "unlock", IDX_AUTH_PASSPHRASE_FILE=str(pw))
        assert bad.returncode == 2 and "wrong" not in bad.stdout
        pw.write_text(PASSPHRASE + "\n")
        assert idx(tmp_path, "unlock", IDX_AUTH_PASSPHRASE_FILE=str(pw)).returncode == 0
        result = idx(tmp_path, "status", "--json")
        assert result.returncode == 0 and json.loads(result.stdout)["locked"] is False
        assert PASSPHRASE not in result.stdout + result.stderr
        assert "unlocked" in idx(tmp_path, "status").stderr
        assert idx(tmp_path, "lock").returncode == 0
        assert json.loads(idx(tmp_path, "status", "--json").stdout)["locked"] is True
    finally:
        stop(proc)


def test_repository_units_match_the_renderer() -> None:
    for name, text in render(DEFAULT_EXEC).items():
        assert (ROOT / "systemd" / name).read_text() == text


def _verify(units: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    run = tmp_path / "xdg-run"
    run.mkdir(mode=0o700, exist_ok=True)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home"), "XDG_RUNTIME_DIR": str(run)}
    return subprocess.run(
        ["systemd-analyze", "--user", "verify", *sorted(str(p) for p in units.glob("idx-auth-*"))],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=units,
    )


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_units_verify_clean(tmp_path: Path) -> None:
    fake_bin = tmp_path / "bin" / "idx-auth"
    fake_bin.parent.mkdir()
    fake_bin.write_text("#!/bin/sh\nexit 0\n")
    fake_bin.chmod(0o755)
    units = tmp_path / "units"
    units.mkdir()
    rendered = render(str(fake_bin))
    assert {"idx-auth-refresh.service", "idx-auth-refresh.timer"} <= set(rendered)
    for name, text in rendered.items():
        (units / name).write_text(text)
    result = _verify(units, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""
    # The check has teeth: a typo is reported.
    service = units / "idx-auth-agent.service"
    service.write_text(service.read_text().replace("NoNewPrivileges", "NoNewPrivilege"))
    assert "Unknown key" in _verify(units, tmp_path).stderr


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_setup_systemd_installs_verified_units(tmp_path: Path) -> None:
    result = idx(tmp_path, "setup", "systemd")
    assert result.returncode == 0, result.stderr
    unit_dir = tmp_path / "config" / "systemd" / "user"
    service = (unit_dir / "idx-auth-agent.service").read_text()
    exec_line = next(line for line in service.splitlines() if line.startswith("ExecStart="))
    program = exec_line.removeprefix("ExecStart=").split()[0]
    assert Path(program).is_absolute() and os.access(program, os.X_OK)
    assert exec_line.endswith(" agent")
    assert "systemctl --user enable --now idx-auth-agent.socket" in result.stdout
    # The refresh timer and its service, for people without the agent, run the same program.
    refresh = (unit_dir / "idx-auth-refresh.service").read_text()
    assert f"ExecStart={program} refresh --due" in refresh.splitlines()
    assert "OnCalendar=" in (unit_dir / "idx-auth-refresh.timer").read_text()
    assert "idx-auth-refresh.timer" in result.stderr
    assert _verify(unit_dir, tmp_path).stderr.strip() == ""
    # Same content again: fine. Different content: refused without --force.
    assert idx(tmp_path, "setup", "systemd").returncode == 0
    (unit_dir / "idx-auth-agent.service").write_text("# mine\n")
    refused = idx(tmp_path, "setup", "systemd")
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert (unit_dir / "idx-auth-agent.service").read_text() == "# mine\n"
    assert idx(tmp_path, "setup", "systemd", "--force").returncode == 0
    assert (unit_dir / "idx-auth-agent.service").read_text() == service


def test_the_module_fallback_in_units_imports_nothing_from_the_start_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without an idx-auth script the units run `python -m keyring_idx.cli`; systemd starts a
    # user unit in $HOME, where a planted keyring_idx/ package must not be the one imported.
    from keyring_idx.cli.agent import exec_path

    lone = tmp_path / "lone" / "python3"
    lone.parent.mkdir()
    monkeypatch.setattr(sys, "executable", str(lone))
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    command = exec_path().split()
    assert command[0] == str(lone) and command[-2:] == ["-m", "keyring_idx.cli"]
    home = tmp_path / "home"
    (home / "keyring_idx" / "cli").mkdir(parents=True)
    marker = tmp_path / "ran"
    (home / "keyring_idx" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (home / "keyring_idx" / "cli" / "__main__.py").write_text("")
    monkeypatch.undo()
    result = subprocess.run(
        [sys.executable, *command[1:], "--help"],
        cwd=home,
        env=agent_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert not marker.exists()


def test_agent_log_lines_are_one_clean_line_without_credentials() -> None:
    import logging

    from keyring_idx.cli.agent import _one_clean_line

    record = logging.LogRecord(
        "idx-auth.agent", logging.WARNING, __file__, 1,
        "refreshing %s failed: %s", ("bob\nroot@https://x", "sent Bearer abc123secret\x1b[2J"),
        None,
    )  # fmt: skip
    assert _one_clean_line(record)
    line = record.getMessage()
    assert "\n" not in line and "\x1b" not in line and "abc123secret" not in line
    assert line.startswith("refreshing bob\\x0aroot@https://x failed: sent Bearer [redacted]")


def test_unlock_reads_the_passphrase_file_as_the_store_does(tmp_path: Path) -> None:
    # One reader (store.keys.passphrase_reader), one rule: the first line. `unlock` once read
    # the whole file, so a passphrase file with a second line unlocked a store nothing else
    # could open.
    from store.keys import passphrase_reader

    pw = tmp_path / "pw"
    pw.write_text(PASSPHRASE + "\nsecond line, ignored\n")
    pw.chmod(0o600)
    assert passphrase_reader({"IDX_AUTH_PASSPHRASE_FILE": str(pw)})(False) == PASSPHRASE
    proc = start(tmp_path, "--passphrase")
    try:
        done = idx(tmp_path, "unlock", IDX_AUTH_PASSPHRASE_FILE=str(pw))
        assert done.returncode == 0, done.stderr
        assert json.loads(idx(tmp_path, "status", "--json").stdout)["locked"] is False
        empty = tmp_path / "empty"
        empty.write_text("\nnot the first line\n")
        empty.chmod(0o600)
        assert idx(tmp_path, "lock").returncode == 0
        refused = idx(tmp_path, "unlock", IDX_AUTH_PASSPHRASE_FILE=str(empty))
        assert refused.returncode == 2 and "is empty" in refused.stderr
    finally:
        stop(proc)
