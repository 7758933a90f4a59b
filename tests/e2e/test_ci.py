"""docs/ci.md, run as written: its shell blocks in a CI-like session (``CI=true``, stdin from
/dev/null, no controlling terminal), against pypiserver with htpasswd, with uv and keyring."""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.localindex import Index, serve, write_htpasswd
from demo.wheels import write_wheel
from tests.e2e.clients import ROOT
from tests.e2e.conftest import BIN, run, tool

PKG = "idx-ci-pkg"
USER, PASSWORD = "alice", "s3cret-alice"
PASSPHRASE = "ci passphrase, long enough"


def block(name: str) -> str:
    """The ```sh block of docs/ci.md whose first line is ``# ci: NAME``."""
    text = (ROOT / "docs" / "ci.md").read_text()
    found = re.findall(r"```sh\n# ci: ([\w-]+)\n(.*?)```", text, flags=re.S)
    blocks = dict(found)
    assert name in blocks, f"docs/ci.md has no '# ci: {name}' block"
    return str(blocks[name])


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    base = tmp_path_factory.mktemp("index")
    write_wheel(base / "packages", PKG, "0.1.0")
    htpasswd = write_htpasswd(base / "htpasswd", {USER: PASSWORD})
    with serve(base / "packages", htpasswd, log=base / "server.log") as ix:
        yield ix


def login(env: dict[str, str], index: Index) -> None:
    argv = [tool("idx-auth"), "login", index.root, "-u", USER, "--password", "-"]
    r = run(argv, stdin=PASSWORD, env=env)
    assert r.returncode == 0, r.stderr


def project(tmp_path: Path, index: Index) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    (path / "pyproject.toml").write_text(
        f'[project]\nname = "app"\nversion = "0"\nrequires-python = ">=3.11"\n'
        f'dependencies = ["{PKG}"]\n\n[[tool.uv.index]]\nname = "private"\n'
        f'url = "{index.simple}"\ndefault = true\n'
    )
    return path


def ci_env(tmp_path: Path, secrets: dict[str, str]) -> dict[str, str]:
    """A fresh job: its own HOME, none of our directory variables, CI=true, the secrets."""
    home = tmp_path / "job-home"
    home.mkdir()
    env = {
        "PATH": os.pathsep.join([str(BIN), "/usr/bin", "/bin"]),
        "HOME": str(home),
        "CI": "true",
        "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        "XDG_RUNTIME_DIR": os.environ["XDG_RUNTIME_DIR"],
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_INDEX_PRIVATE_USERNAME": USER,
        "LANG": "C.UTF-8",
        **secrets,
    }
    (tmp_path / "runner-temp").mkdir()
    return env


def job(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``bash -eu`` with no terminal at all: nothing can prompt, only fail. Output goes to
    files, so a process the job leaves running cannot keep the call waiting."""
    out, err = cwd / "job.out", cwd / "job.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        code = subprocess.run(
            ["bash", "-euc", script],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
            timeout=240,
        ).returncode
    return subprocess.CompletedProcess(script, code, out.read_text(), err.read_text())


def test_store_and_key_file_from_secrets(index: Index, tmp_path: Path) -> None:
    dev = {**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}
    login(dev, index)
    r = job(block("make-secrets"), tmp_path, dev)
    assert r.returncode == 0, r.stderr
    secrets = {
        "IDX_AUTH_STORE": (tmp_path / "IDX_AUTH_STORE.b64").read_text(),
        "IDX_AUTH_KEY": (tmp_path / "IDX_AUTH_KEY.b64").read_text(),
    }
    env = ci_env(tmp_path, secrets)
    app = project(tmp_path, index)
    r = job(block("restore-file-key") + block("use"), app, env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f'name = "{PKG}"' in (app / "uv.lock").read_text()
    base = tmp_path / "runner-temp" / "idx-auth"
    assert (base / "data").stat().st_mode & 0o777 == 0o700
    assert (base / "data" / "credentials.toml").stat().st_mode & 0o777 == 0o600
    assert (base / "config" / "key").stat().st_mode & 0o777 == 0o600
    assert PASSWORD not in r.stdout + r.stderr


def test_passphrase_store_with_and_without_the_agent(index: Index, tmp_path: Path) -> None:
    pw = tmp_path / "dev-passphrase"
    pw.write_text(PASSPHRASE + "\n")
    pw.chmod(0o600)  # idx-auth refuses a passphrase file others can read
    dev = {**os.environ, "IDX_AUTH_KEY_SOURCE": "passphrase", "IDX_AUTH_PASSPHRASE_FILE": str(pw)}
    login(dev, index)
    store = Path(os.environ["IDX_AUTH_DATA_DIR"]) / "credentials.toml"
    secrets = {
        "IDX_AUTH_STORE": base64.b64encode(store.read_bytes()).decode(),
        "IDX_AUTH_PASSPHRASE": PASSPHRASE,
    }
    env = ci_env(tmp_path, secrets)
    env["IDX_AUTH_RUNTIME_DIR"] = str(tmp_path / "job-run")
    app = project(tmp_path, index)
    # No agent: each lookup derives the key from the passphrase file.
    r = job(block("restore-passphrase") + block("use"), app, env)
    assert r.returncode == 0, r.stdout + r.stderr
    (app / "uv.lock").unlink()

    pid_file = tmp_path / "agent.pid"
    script = block("restore-passphrase") + block("agent") + f'echo "$!" > {pid_file}\n'
    script += block("use") + 'rm "$IDX_AUTH_PASSPHRASE_FILE"\n'
    r = job(script, app, env)
    pid = int(pid_file.read_text()) if pid_file.exists() else None
    try:
        assert r.returncode == 0, r.stdout + r.stderr
        assert f'name = "{PKG}"' in (app / "uv.lock").read_text()
        # The passphrase file is gone: only the unlocked agent can still answer.
        after = {**env, "IDX_AUTH_DATA_DIR": str(tmp_path / "runner-temp/idx-auth/data")}
        got = run([tool("keyring"), "get", index.simple, USER], env=after)
        assert got.stdout == PASSWORD + "\n", got.stderr
    finally:
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
    assert PASSPHRASE not in r.stdout + r.stderr and PASSWORD not in r.stdout + r.stderr
