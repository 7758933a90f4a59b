"""`idx-auth run` with the real uv and twine against a password-protected pypiserver, with no
`keyring` anywhere on PATH: the credentials reach the tools only as environment variables.
The command replaces idx-auth (exec): exit codes and signals are the command's own, and the
secret is in its environment, never in its argv or our output.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.localindex import Index, serve, write_htpasswd
from demo.wheels import write_wheel
from tests.e2e.conftest import BIN, tool

PKG = "idx-run-pkg"
USER, PASSWORD = "alice", "s3cret-run-alice"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    base = tmp_path_factory.mktemp("index")
    write_wheel(base / "packages", PKG, "0.1.0")
    htpasswd = write_htpasswd(base / "htpasswd", {USER: PASSWORD})
    with serve(base / "packages", htpasswd, log=base / "server.log") as ix:
        yield ix


@pytest.fixture
def env(isolated_home: Path, tmp_path: Path, index: Index) -> dict[str, str]:
    """PATH holds uv, twine and the shell tools, and no keyring; keyring is also switched off
    for uv, so a success can only come from the variables."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("uv", "twine"):
        (tools / name).symlink_to(BIN / name)
    e = dict(os.environ)
    e["PATH"] = f"{tools}{os.pathsep}/usr/bin{os.pathsep}/bin"
    e["UV_KEYRING_PROVIDER"] = "disabled"
    e["UV_PYTHON_DOWNLOADS"] = "never"
    e["UV_NO_PROGRESS"] = "1"
    r = idx(["login", index.simple, "-u", USER, "--password", "-"], e, stdin=PASSWORD)
    assert r.returncode == 0, r.stderr
    return e


def idx(
    argv: list[str], env: dict[str, str], *, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("idx-auth"), *argv],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def write_project(path: Path, index: Index) -> Path:
    path.mkdir()
    (path / "pyproject.toml").write_text(
        f'[project]\nname = "app"\nversion = "0"\nrequires-python = ">=3.11"\n'
        f'dependencies = ["{PKG}"]\n\n'
        f'[[tool.uv.index]]\nname = "private-idx"\nurl = "{index.simple}"\ndefault = true\n'
    )
    return path


def test_uv_sync_authenticates_from_the_variables(
    index: Index, env: dict[str, str], tmp_path: Path
) -> None:
    app = write_project(tmp_path / "app", index)
    sync = ["uv", "sync", "--python", sys.executable, "--no-install-project"]
    r = subprocess.run(sync, cwd=app, env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode != 0 and "401" in r.stderr  # the control: no credentials, no keyring
    r = idx(["run", "--project", str(app), "--", *sync, "--project", str(app)], env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (app / "uv.lock").is_file()
    assert PASSWORD not in r.stdout + r.stderr + (app / "uv.lock").read_text()
    site = next((app / ".venv" / "lib").glob("python*/site-packages"))
    assert (site / PKG.replace("-", "_")).is_dir()


def test_uv_pip_install_with_an_index_named_on_its_command_line(
    index: Index, env: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    install = [
        "uv", "pip", "install", "--python", str(target / "bin" / "python"),
        "--default-index", f"cli-idx={index.simple}", PKG,
    ]  # fmt: skip
    r = idx(["run", "--", *install], env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    done = subprocess.run(
        [str(target / "bin" / "python"), "-c", f"import {PKG.replace('-', '_')}"], timeout=60
    )
    assert done.returncode == 0


def test_twine_upload_gets_twine_variables(
    index: Index, env: dict[str, str], tmp_path: Path
) -> None:
    wheel = write_wheel(tmp_path / "dist", PKG, "0.2.0")
    upload = [
        "twine", "upload", "--non-interactive", "--disable-progress-bar",
        "--repository-url", index.root, str(wheel),
    ]  # fmt: skip
    r = idx(["run", "--", *upload], {**env, "TWINE_USERNAME": ""}, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (index.packages / wheel.name).is_file()
    assert PASSWORD not in r.stdout + r.stderr


def test_exit_status_and_missing_commands(env: dict[str, str], tmp_path: Path) -> None:
    assert idx(["run", "--", "sh", "-c", "exit 7"], env, cwd=tmp_path).returncode == 7
    r = idx(["run", "--", "no-such-command-here"], env, cwd=tmp_path)
    assert r.returncode == 127 and "command not found" in r.stderr
    script = tmp_path / "not-exec"
    script.write_text("#!/bin/sh\n")
    assert idx(["run", "--", str(script)], env, cwd=tmp_path).returncode == 126
    r = idx(["run", "--", "sh", "-c", "kill -TERM $$"], env, cwd=tmp_path)
    assert r.returncode == -signal.SIGTERM


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def test_the_command_replaces_idx_auth(index: Index, env: dict[str, str], tmp_path: Path) -> None:
    """Same pid, the command's argv without the secret, the secret in its environment only;
    a signal sent to that pid reaches the command."""
    app = write_project(tmp_path / "app", index)
    proc = subprocess.Popen(
        [tool("idx-auth"), "run", "--", "sleep", "60"],
        cwd=app,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # A suite started as a background job can inherit SIGINT ignored or blocked, and exec
        # keeps both (as `idx-auth run` must: it passes dispositions through untouched).
        preexec_fn=_default_sigint,
    )
    try:
        cmdline = Path(f"/proc/{proc.pid}/cmdline")
        deadline = time.monotonic() + 30
        while cmdline.read_bytes().split(b"\0")[0] != b"sleep":
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        assert PASSWORD.encode() not in cmdline.read_bytes()
        environ = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
        assert f"UV_INDEX_PRIVATE_IDX_PASSWORD={PASSWORD}".encode() in environ
        assert f"UV_INDEX_PRIVATE_IDX_USERNAME={USER}".encode() in environ
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(30) == -signal.SIGINT
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        out, err = proc.communicate()
    assert PASSWORD.encode() not in out + err


def test_dry_run_and_an_index_without_a_credential(
    index: Index, env: dict[str, str], tmp_path: Path
) -> None:
    app = write_project(tmp_path / "app", index)
    with (app / "pyproject.toml").open("a") as fh:
        fh.write(
            f'\n[[tool.uv.index]]\nname = "elsewhere"\nurl = "http://127.0.0.1:{index.port + 1}/"\n'
        )
    r = idx(["run", "--dry-run", "--", "uv", "sync"], env, cwd=app)
    assert r.returncode == 0
    assert r.stdout.splitlines() == [
        "UV_INDEX_PRIVATE_IDX_USERNAME",
        "UV_INDEX_PRIVATE_IDX_PASSWORD",
    ]
    assert "elsewhere" in r.stderr and "no stored credential" in r.stderr
    assert PASSWORD not in r.stdout + r.stderr
