"""The real keyring command, uv, pip, twine and uv publish against pypiserver with htpasswd.

One pypiserver per module on a free 127.0.0.1 port; every action (list, download, update)
needs a password. Credentials reach the tools only through our store: `idx-auth login`, then
keyring's own config file (written by `idx-auth setup keyring`) selects the backend, with
PYTHON_KEYRING_BACKEND unset.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.localindex import Index, serve, write_htpasswd
from demo.wheels import write_wheel
from tests.e2e.conftest import BIN, run, tool

PKG = "idx-private-pkg"
USER, PASSWORD = "alice", "s3cret-alice"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    base = tmp_path_factory.mktemp("index")
    write_wheel(base / "packages", PKG, "0.1.0")
    htpasswd = write_htpasswd(base / "htpasswd", {USER: PASSWORD})
    with serve(base / "packages", htpasswd, log=base / "server.log") as ix:
        yield ix


@pytest.fixture
def env(isolated_home: Path) -> dict[str, str]:
    e = dict(os.environ)
    assert "PYTHON_KEYRING_BACKEND" not in e
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    e["UV_PYTHON_DOWNLOADS"] = "never"
    e["UV_NO_PROGRESS"] = "1"
    e["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return e


def login(env: dict[str, str], service: str, password: str = PASSWORD) -> None:
    r = run(
        [tool("idx-auth"), "login", service, "-u", USER, "--password", "-"], stdin=password, env=env
    )
    assert r.returncode == 0, r.stderr


@pytest.fixture
def stored(index: Index, env: dict[str, str], isolated_home: Path) -> dict[str, str]:
    """The index's password in our store, and keyring configured to use our backend."""
    login(env, index.simple)
    r = run([tool("idx-auth"), "setup", "keyring"], env=env)
    assert r.returncode == 0, r.stderr
    assert (isolated_home / ".config/python_keyring/keyringrc.cfg").is_file()
    return env


def test_keyring_command_in_both_modes(index: Index, stored: dict[str, str]) -> None:
    keyring = tool("keyring")
    r = run([keyring, "get", index.simple, USER], env=stored)
    assert (r.returncode, r.stdout) == (0, PASSWORD + "\n"), r.stderr
    r = run([keyring, "--mode", "creds", "get", index.simple], env=stored)
    assert (r.returncode, r.stdout) == (0, f"{USER}\n{PASSWORD}\n"), r.stderr
    r = run(
        [keyring, "--mode=creds", "--output=json", "get", f"127.0.0.1:{index.port}"], env=stored
    )
    assert json.loads(r.stdout) == {"username": USER, "password": PASSWORD}
    r = run([keyring, "get", f"http://127.0.0.1:{index.port}", USER], env=stored)
    assert r.stdout == PASSWORD + "\n"
    for other in (f"http://127.0.0.1:{index.port + 1}/simple/", f"127.0.0.1:{index.port + 1}"):
        r = run([keyring, "--mode", "creds", "get", other], env=stored)
        assert (r.returncode, r.stdout) == (1, ""), other


def uv_compile(index_url: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [
        tool("uv"),
        "pip",
        "compile",
        "-",
        "--index-url",
        index_url,
        "--keyring-provider",
        "subprocess",
        "--python",
        sys.executable,
        "--no-cache",
        "--no-header",
    ]
    return run(argv, stdin=f"{PKG}<0.2\n", env=env)  # publish tests add newer versions


def test_uv_with_the_username_in_the_url(index: Index, stored: dict[str, str]) -> None:
    r = uv_compile(f"http://{USER}@127.0.0.1:{index.port}/simple/", stored)
    assert r.returncode == 0, r.stderr
    assert f"{PKG}==0.1.0" in r.stdout


def test_uv_without_keyring_gets_401(index: Index, stored: dict[str, str]) -> None:
    """The control: the same run without our credentials fails."""
    stored = {**stored, "UV_KEYRING_PROVIDER": "disabled"}
    r = run(
        [
            tool("uv"),
            "pip",
            "compile",
            "-",
            "--index-url",
            index.simple,
            "--python",
            sys.executable,
            "--no-cache",
        ],
        stdin=PKG + "\n",
        env=stored,
    )
    assert r.returncode != 0 and "401" in r.stderr


def write_project(path: Path, index: Index, extra: str = "") -> Path:
    path.mkdir()
    (path / "pyproject.toml").write_text(
        f"""[project]
name = "app"
version = "0"
requires-python = ">=3.11"
dependencies = ["{PKG}"]

[[tool.uv.index]]
name = "private-idx"
url = "{index.simple}"
default = true
{extra}
"""
    )
    return path


def uv_lock(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [tool("uv"), "lock", "--keyring-provider", "subprocess", "--python", sys.executable]
    return subprocess.run(
        argv,
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_uv_lock_with_the_username_from_the_environment(
    index: Index, stored: dict[str, str], tmp_path: Path
) -> None:
    project = write_project(tmp_path / "app", index)
    r = uv_lock(project, {**stored, "UV_INDEX_PRIVATE_IDX_USERNAME": USER})
    assert r.returncode == 0, r.stderr
    assert f'name = "{PKG}"' in (project / "uv.lock").read_text()


def test_uv_lock_with_authenticate_always(
    index: Index, stored: dict[str, str], tmp_path: Path
) -> None:
    project = write_project(tmp_path / "app", index, 'authenticate = "always"')
    r = uv_lock(project, stored)
    assert r.returncode == 0, r.stderr
    assert f'name = "{PKG}"' in (project / "uv.lock").read_text()


def test_wrong_stored_password_is_a_plain_http_error(index: Index, stored: dict[str, str]) -> None:
    login(stored, index.simple, password="not-the-password")
    r = uv_compile(f"http://{USER}@127.0.0.1:{index.port}/simple/", stored)
    assert r.returncode != 0
    # pypiserver answers a wrong password with 403 (most hosted indexes say 401)
    assert "403 Forbidden" in r.stderr and "Traceback" not in r.stderr
    assert "idx-auth" not in r.stderr
    assert "not-the-password" not in r.stderr + r.stdout


def test_tokens_for_another_path_or_port_are_not_sent(
    index: Index, env: dict[str, str], tmp_path: Path
) -> None:
    login(env, f"http://127.0.0.1:{index.port}/other")
    login(env, f"http://127.0.0.1:{index.port + 1}/")
    assert run([tool("idx-auth"), "setup", "keyring"], env=env).returncode == 0
    r = run([tool("keyring"), "get", index.simple, USER], env=env)
    assert (r.returncode, r.stdout) == (1, "")
    r = run([tool("keyring"), "get", f"127.0.0.1:{index.port}", USER], env=env)
    assert (r.returncode, r.stdout) == (1, "")
    r = uv_compile(f"http://{USER}@127.0.0.1:{index.port}/simple/", env)
    # uv sends the bare username; pypiserver rejects that with 403
    assert r.returncode != 0 and "403 Forbidden" in r.stderr and "Traceback" not in r.stderr


@pytest.fixture(scope="module")
def outside_pip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Python environment apart from ours (as with pipx or `uv tool install`) that runs
    the same pip; the `keyring` it finds on PATH is ours."""
    venv = tmp_path_factory.mktemp("pipenv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)})
    pip_dir = Path(sysconfig.get_path("purelib"))  # ours, which holds pip
    (Path(purelib) / "our_pip.pth").write_text(str(pip_dir) + "\n")
    return venv / "bin" / "python"


def pip_download(
    python: Path | str, provider: str, index: Index, dest: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    argv = [
        str(python),
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-cache-dir",
        "--no-input",
        "-d",
        str(dest),
        "--index-url",
        index.simple,
        "--keyring-provider",
        provider,
        PKG,
    ]
    return run(argv, env=env)


def test_pip_subprocess_provider(
    index: Index, stored: dict[str, str], outside_pip: Path, tmp_path: Path
) -> None:
    r = pip_download(outside_pip, "subprocess", index, tmp_path / "d", stored)
    assert r.returncode == 0, r.stdout + r.stderr
    assert [p.name for p in (tmp_path / "d").iterdir()] == [
        "idx_private_pkg-0.1.0-py3-none-any.whl"
    ]


def test_pip_import_provider(index: Index, stored: dict[str, str], tmp_path: Path) -> None:
    r = pip_download(sys.executable, "import", index, tmp_path / "d", stored)
    assert r.returncode == 0, r.stdout + r.stderr
    assert [p.name for p in (tmp_path / "d").iterdir()] == [
        "idx_private_pkg-0.1.0-py3-none-any.whl"
    ]


def test_twine_upload_takes_the_password_from_the_store(
    index: Index, stored: dict[str, str], tmp_path: Path
) -> None:
    wheel = write_wheel(tmp_path / "dist", PKG, "0.2.0")
    argv = [
        tool("twine"),
        "upload",
        "--non-interactive",
        "--disable-progress-bar",
        "--repository-url",
        index.root,
        "-u",
        USER,
        str(wheel),
    ]
    r = run(argv, env=stored)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (index.packages / wheel.name).is_file()


def test_uv_publish_takes_the_password_from_the_store(
    index: Index, stored: dict[str, str], tmp_path: Path
) -> None:
    wheel = write_wheel(tmp_path / "dist", PKG, "0.3.0")
    argv = [
        tool("uv"),
        "publish",
        "--publish-url",
        index.root,
        "--keyring-provider",
        "subprocess",
        "-u",
        USER,
        str(wheel),
    ]
    r = run(argv, env=stored)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (index.packages / wheel.name).is_file()


def test_keyring_asks_the_running_agent_first(
    index: Index, stored: dict[str, str], tmp_path: Path
) -> None:
    from store.agent import client
    from store.agent import protocol as p
    from store.dirs import resolve_dirs

    dirs = resolve_dirs(stored)
    agent = subprocess.Popen(
        [tool("idx-auth"), "agent"],
        env=stored,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert agent.poll() is None, "the agent exited"
            try:
                if client.request(p.Status(), path=str(dirs.socket), timeout=1.0).ok:
                    break
            except client.AgentUnavailable:
                assert time.monotonic() < deadline, "the agent did not start serving"
                time.sleep(0.05)
        r = run([tool("keyring"), "get", index.simple, USER], env=stored)
        assert r.stdout == PASSWORD + "\n", r.stderr
        # Without its key file the store cannot be opened from disk: only the agent, which
        # unlocked it for the first lookup, can still answer.
        dirs.key_file.rename(tmp_path / "key.aside")
        r = run([tool("keyring"), "--mode", "creds", "get", f"127.0.0.1:{index.port}"], env=stored)
        assert r.stdout == f"{USER}\n{PASSWORD}\n", r.stderr
        r = uv_compile(f"http://{USER}@127.0.0.1:{index.port}/simple/", stored)
        assert r.returncode == 0 and f"{PKG}==0.1.0" in r.stdout, r.stderr
    finally:
        agent.terminate()
        agent.wait(15)
    r = run([tool("keyring"), "get", index.simple, USER], env=stored)
    assert (r.returncode, r.stdout) == (1, "")
    assert "key file" in r.stderr and "Traceback" not in r.stderr


def test_keyring_set_of_a_name_that_is_not_a_url(stored: dict[str, str]) -> None:
    """With only our backend selected, a plain name has nowhere to go: one line, exit 2."""
    keyring = tool("keyring")
    r = run([keyring, "set", "my-app", "bob"], stdin="pw-bob\n", env=stored)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
    assert "'my-app' is not one" in r.stderr and "KEYRING_PROPERTY_SCOPE=all" in r.stderr
    r = run([keyring, "del", "my-app", "bob"], env=stored)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    every = {**stored, "KEYRING_PROPERTY_SCOPE": "all"}
    assert run([keyring, "set", "my-app", "bob"], stdin="pw-bob\n", env=every).returncode == 0
    r = run([keyring, "get", "my-app", "bob"], env=every)
    assert (r.returncode, r.stdout) == (0, "pw-bob\n")


def test_uv_plaintext_store_with_another_password_shadows_ours(
    index: Index, stored: dict[str, str], tmp_path: Path
) -> None:
    """uv uses its own plaintext credentials.toml before keyring: doctor fails on a differing
    secret there, and `import` does not overwrite ours with it unless told to."""
    env = {**stored, "UV_CREDENTIALS_DIR": str(tmp_path / "uv-creds")}
    login_uv = [tool("uv"), "auth", "login", index.root, "-u", USER, "--password", "-"]
    assert run(login_uv, stdin="stale-password\n", env=env).returncode == 0
    r = uv_compile(f"http://{USER}@127.0.0.1:{index.port}/simple/", env)
    assert r.returncode != 0 and "403 Forbidden" in r.stderr  # uv sent the plaintext one
    r = run([tool("idx-auth"), "doctor", "--no-probe", "--json"], env=env)
    assert r.returncode == 1, r.stderr
    check = {c["name"]: c for c in json.loads(r.stdout)["checks"]}["uv-plaintext"]
    assert check["verdict"] == "fail" and f"{USER}@{index.root}" in check["detail"]
    assert "uv auth logout" in check["fix"] and "idx-auth import --replace" in check["fix"]
    assert "stale-password" not in r.stdout + r.stderr and PASSWORD not in r.stdout + r.stderr
    r = run([tool("idx-auth"), "import"], env=env)
    assert r.returncode == 2 and "--replace" in r.stderr and "stale-password" not in r.stderr
    token = [tool("idx-auth"), "token", index.simple, "-u", USER]
    assert run(token, env=env).stdout == PASSWORD + "\n"  # ours is untouched
    logout_uv = [tool("uv"), "auth", "logout", index.root, "--username", USER]
    assert run(logout_uv, env=env).returncode == 0
    r = uv_compile(f"http://{USER}@127.0.0.1:{index.port}/simple/", env)
    assert r.returncode == 0, r.stderr


def test_pip_with_user_in_the_url_gets_403_and_doctor_says_why(
    index: Index, stored: dict[str, str], outside_pip: Path, tmp_path: Path
) -> None:
    """pip asks keyring only after a 401: with alice@ in the URL it sends alice with an empty
    password, pypiserver answers 403, and keyring is never asked. The URL without alice@ is
    the form that works (pip then asks keyring for the username too)."""
    with_user = f"http://{USER}@127.0.0.1:{index.port}/simple/"
    argv = [str(outside_pip), "-m", "pip", "download", "--no-deps", "--no-cache-dir"]
    argv += ["--no-input", "--keyring-provider", "subprocess", "-d", str(tmp_path / "d")]
    r = run([*argv, "--index-url", with_user, PKG], env=stored)
    assert r.returncode != 0 and "No matching distribution" in r.stderr
    # What pip sent first, and what pypiserver answers to it:
    request = urllib.request.Request(
        index.simple, headers={"Authorization": "Basic " + base64.b64encode(b"alice:").decode()}
    )
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=10)
    assert answer.value.code == 403
    r = run([*argv, "--index-url", index.simple, PKG], env=stored)
    assert r.returncode == 0, r.stdout + r.stderr

    project = tmp_path / "empty-project"
    project.mkdir()
    env = {**stored, "PIP_INDEX_URL": with_user}
    doctor = [tool("idx-auth"), "doctor", "--json", "--project", str(project)]
    r = run(doctor, env=env)
    assert r.returncode == 1, r.stderr
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    pip = checks[f"pip[{with_user}]"]
    assert pip["verdict"] == "fail" and "403" in pip["detail"] and "PIP_INDEX_URL" in pip["detail"]
    assert pip["fix"].startswith(f"drop {USER}@ from the URL ({index.simple})")
    r = run([*doctor, "--no-probe"], env=env)
    pip = {c["name"]: c for c in json.loads(r.stdout)["checks"]}[f"pip[{with_user}]"]
    assert pip["verdict"] == "warn"
    r = run(doctor, env={**stored, "PIP_INDEX_URL": index.simple})
    assert not any(c["name"].startswith("pip[") for c in json.loads(r.stdout)["checks"])
