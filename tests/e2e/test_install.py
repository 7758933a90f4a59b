"""Installing keyring-idx before it is published: ``make dist`` (``uv build``) makes the sdist
and the wheel, and the wheel installs the ways the README says, each into a fresh place."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.clients import CACHE, NETWORK, ROOT, Tools
from tests.e2e.conftest import run, tool

VERSION = "0.1.0"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `make dist` runs, into a tmp dir instead of the checkout's dist/."""
    out = tmp_path_factory.mktemp("dist")
    env = {**NETWORK, **os.environ, "UV_CACHE_DIR": str(CACHE / "uv-cache"), "UV_NO_PROGRESS": "1"}
    r = subprocess.run(
        [tool("uv"), "build", "--out-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    return out


def test_make_dist_runs_uv_build() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "dist: $(STAMP)\n\trm -rf dist\n\t$(BIN)/uv build --out-dir dist\n" in makefile


def test_dist_holds_the_sdist_and_the_wheel(dist: Path) -> None:
    names = sorted(p.name for p in dist.iterdir() if not p.name.startswith("."))
    assert names == [f"keyring_idx-{VERSION}-py3-none-any.whl", f"keyring_idx-{VERSION}.tar.gz"]


def check_installed(bin_dir: Path, env: dict[str, str], cwd: Path) -> None:
    """``idx-auth --help`` runs and ``keyring --list-backends`` shows our backend, from a
    directory outside the checkout (so nothing is imported from it)."""
    r = subprocess.run(
        [str(bin_dir / "idx-auth"), "--help"], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert "login" in r.stdout and "setup" in r.stdout
    r = subprocess.run(
        [str(bin_dir / "keyring"), "--list-backends"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert "keyring_idx.backend.IdxKeyring" in r.stdout


def test_the_wheel_installs_as_a_uv_tool(dist: Path, tmp_path: Path, isolated_home: Path) -> None:
    tools = Tools(tmp_path / "tools")
    env = tools.env(dict(os.environ))
    wheel = dist / f"keyring_idx-{VERSION}-py3-none-any.whl"
    argv = [tool("uv"), "tool", "install", str(wheel), "--with-executables-from", "keyring"]
    r = run(argv, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    check_installed(tools.bin, env, tmp_path)


def test_the_wheel_installs_with_pip_into_a_fresh_venv(
    dist: Path, tmp_path: Path, isolated_home: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = {**NETWORK, **os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    wheel = dist / f"keyring_idx-{VERSION}-py3-none-any.whl"
    r = run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    check_installed(venv / "bin", env, tmp_path)
