"""``idx-auth setup fast-keyring``: where the launcher goes, what it refuses, and its undo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from keyring_idx.cli.fast_keyring import (
    default_bin_dir,
    is_launcher,
    launcher_text,
    package_roots,
    shadowed_by,
)
from keyring_idx.launcher import MARKER
from tests.keyring_idx.cli.conftest import Cli

REAL = str(Path(sys.executable).parent / "keyring")


def fake_keyring(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "keyring"
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def test_default_is_the_first_home_dir_ahead_of_every_keyring(tmp_path: Path) -> None:
    home = tmp_path / "home"
    local, venv, late = home / ".local/bin", tmp_path / "venv/bin", home / "late"
    for d in (local, late):
        d.mkdir(parents=True)
    fake_keyring(venv)
    outside = tmp_path / "sys"
    outside.mkdir()
    path = [str(outside), str(local), str(venv), str(late)]
    assert default_bin_dir(path, home) == local
    # keyring ahead of every home directory: nowhere to shadow it from
    assert default_bin_dir([str(outside), str(venv), str(local)], home) is None
    # a launcher ahead is no obstacle (rerunning the setup finds its own directory)
    (local / "keyring").write_text(f"#!/bin/sh\n{MARKER}\n")
    (local / "keyring").chmod(0o755)
    assert default_bin_dir(path, home) == local


def test_shadowed_by_names_the_keyring_found_first(tmp_path: Path) -> None:
    first = fake_keyring(tmp_path / "a")
    mine = tmp_path / "b"
    mine.mkdir()
    assert shadowed_by(mine, [str(tmp_path / "a"), str(mine)]) == first
    assert shadowed_by(mine, [str(mine), str(tmp_path / "a")]) is None


def test_install_run_and_undo(cli: Cli, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    code, out, err = cli("setup", "fast-keyring", "--bin-dir", str(bin_dir))
    assert (code, out) == (0, "")
    launcher = bin_dir / "keyring"
    assert is_launcher(launcher) and os.access(launcher, os.X_OK)
    assert f"{bin_dir} is not on PATH" in err and "no agent is running" in err
    r = subprocess.run(
        [str(launcher), "--list-backends"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0 and "keyring_idx.backend.IdxKeyring" in r.stdout
    assert cli("setup", "fast-keyring", "--bin-dir", str(bin_dir))[0] == 0  # replaces itself
    code, _, err = cli("setup", "fast-keyring", "--undo", "--bin-dir", str(bin_dir))
    assert code == 0 and not launcher.exists() and f"removed {launcher}" in err
    code, _, err = cli("setup", "fast-keyring", "--undo", "--bin-dir", str(bin_dir))
    assert code == 1 and "nothing to do" in err


def test_undo_finds_the_launcher_on_path(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    other = fake_keyring(tmp_path / "other")
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), str(bin_dir), str(other.parent)]))
    assert cli("setup", "fast-keyring", "--bin-dir", str(bin_dir))[0] == 0
    code, _, err = cli("setup", "fast-keyring", "--undo")
    assert code == 0 and not (bin_dir / "keyring").exists()
    assert err.count("removed") == 1  # listed twice on PATH, removed once
    assert other.exists()  # only launchers are removed


def test_never_replaces_keyring_itself(cli: Cli, tmp_path: Path) -> None:
    real = fake_keyring(tmp_path / "venv")
    before = real.read_text()
    code, _, err = cli("setup", "fast-keyring", "--bin-dir", str(real.parent))
    assert code == 2 and "is not an idx-auth launcher" in err
    assert real.read_text() == before
    code, _, _ = cli("setup", "fast-keyring", "--undo", "--bin-dir", str(real.parent))
    assert code == 1 and real.read_text() == before


def test_without_a_place_on_path_it_says_what_to_do(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(fake_keyring(tmp_path / "venv").parent))
    code, out, err = cli("setup", "fast-keyring")
    assert (code, out) == (2, "") and "--bin-dir" in err and "export PATH" in err


def test_a_long_interpreter_path_runs_through_sh(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*(["d" * 30] * 5), "with space")
    deep.mkdir(parents=True)
    python = deep / "python"
    python.symlink_to(sys.executable)
    text = launcher_text(str(python), package_roots(), REAL)
    assert text.startswith("#!/bin/sh\n")
    launcher = tmp_path / "keyring"
    launcher.write_text(text)
    launcher.chmod(0o755)
    r = subprocess.run(
        [str(launcher), "--list-backends"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0 and "keyring_idx.backend.IdxKeyring" in r.stdout, r.stderr


def test_a_missing_real_keyring_is_one_line(tmp_path: Path) -> None:
    launcher = tmp_path / "keyring"
    launcher.write_text(launcher_text(sys.executable, package_roots(), str(tmp_path / "gone")))
    launcher.chmod(0o755)
    r = subprocess.run([str(launcher), "diagnose"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 127 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "idx-auth setup fast-keyring" in r.stderr
