"""The fast `keyring` launcher against the real keyring command, a real agent and real clients.

Every command line runs twice, through the launcher and through keyring's own command, with
the agent up, down and locked: exit code, stdout and stderr must be byte-identical. uv and pip
then fetch from a password-protected pypiserver with the launcher first on PATH.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.localindex import Index, serve, write_htpasswd
from demo.wheels import write_wheel
from keyring_idx import launcher
from store.dirs import resolve_dirs
from tests.e2e.conftest import BIN, run, tool
from tests.e2e.test_keyring_e2e import outside_pip, pip_download  # noqa: F401 (a fixture)
from tests.store.agent.agentproc import stop, wait_until_serving

PKG = "idx-private-pkg"  # the name pip_download asks for
USER, PASSWORD = "alice", "s3cret-alice"
PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    base = tmp_path_factory.mktemp("index")
    write_wheel(base / "packages", PKG, "0.1.0")
    htpasswd = write_htpasswd(base / "htpasswd", {USER: PASSWORD})
    with serve(base / "packages", htpasswd, log=base / "server.log") as ix:
        yield ix


@pytest.fixture
def env(isolated_home: Path, tmp_path: Path) -> dict[str, str]:
    """The launcher installed in its own directory, first on PATH; keyring's own command is in
    BIN, which is also on PATH (as in a venv)."""
    e = dict(os.environ)
    e["PATH"] = f"{tmp_path / 'bin'}{os.pathsep}{BIN}{os.pathsep}{e.get('PATH', '')}"
    e["UV_PYTHON_DOWNLOADS"] = "never"
    e["UV_NO_PROGRESS"] = "1"
    e["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    r = run([tool("idx-auth"), "setup", "fast-keyring", "--bin-dir", str(tmp_path / "bin")], env=e)
    assert r.returncode == 0, r.stderr
    return e


def login(env: dict[str, str], service: str, user: str = USER, password: str = PASSWORD) -> None:
    r = run(
        [tool("idx-auth"), "login", service, "-u", user, "--password", "-"], stdin=password, env=env
    )
    assert r.returncode == 0, r.stderr


class Agent:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Agent:
        sock = resolve_dirs(self.env).socket
        self.proc = subprocess.Popen(
            [tool("idx-auth"), "agent"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait_until_serving(sock, self.proc)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        stop(self.proc)


def both(
    argv: list[str], env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``keyring ARGV`` through the launcher and through keyring; they must agree."""
    fast_bin = env["PATH"].split(os.pathsep)[0]
    fast = run([os.path.join(fast_bin, "keyring"), *argv], env=env, stdin=stdin)
    real = run([tool("keyring"), *argv], env=env, stdin=stdin)
    fast_out, real_out = fast.stdout, real.stdout
    if "--list-backends" in argv:
        # keyring lists its backends in the order of a set of classes (hashed by address),
        # which differs between two runs of keyring itself.
        fast_out = "".join(sorted(fast_out.splitlines(keepends=True)))
        real_out = "".join(sorted(real_out.splitlines(keepends=True)))
    assert (fast.returncode, fast_out, fast.stderr) == (real.returncode, real_out, real.stderr), (
        argv
    )
    return fast


def lookups(index: Index) -> list[list[str]]:
    host = f"127.0.0.1:{index.port}"
    return [
        # uv
        ["get", index.simple, USER],
        ["get", host, USER],
        ["get", f"http://{host}", USER],
        ["get", index.simple, "--mode", "creds"],
        ["get", host, "--mode", "creds"],
        # pip
        ["--mode=creds", "--output=json", "get", index.simple],
        ["--mode=creds", "--output=json", "get", host],
        ["--mode=creds", "--output=json", "get", index.simple, USER],
        # nothing stored there
        ["get", f"http://127.0.0.1:{index.port + 1}/simple/", USER],
        ["--mode=creds", "--output=json", "get", f"http://127.0.0.1:{index.port + 1}/"],
        ["get", index.simple, "bob"],
    ]


OTHER_COMMANDS = [
    [],
    ["--help"],
    ["--list-backends"],
    ["diagnose"],
    ["get"],
    ["get", "https://h.example/"],
    ["--mode", "creds", "get", "https://h.example/", ""],
    ["--bogus"],
    ["-b", "keyrings.alt.file.PlaintextKeyring", "get", "https://h.example/", USER],
]


def test_answers_uv_and_pip_forms_from_the_agent(index: Index, env: dict[str, str]) -> None:
    login(env, index.simple)
    with Agent(env):
        for argv in lookups(index)[:8]:
            assert launcher.answer(argv, env) is not None, argv  # answered, not handed over
            assert both(argv, env).returncode == 0, argv
        for argv in lookups(index)[8:] + OTHER_COMMANDS:
            assert launcher.answer(argv, env) is None, argv
            both(argv, env)


def test_identical_with_the_agent_down(index: Index, env: dict[str, str]) -> None:
    login(env, index.simple)
    for argv in lookups(index) + OTHER_COMMANDS:
        both(argv, env)


def test_identical_with_the_agent_locked(index: Index, env: dict[str, str], tmp_path: Path) -> None:
    phrase = tmp_path / "phrase"
    phrase.write_text(PASSPHRASE + "\n")
    phrase.chmod(0o600)
    store_env = {
        **env,
        "IDX_AUTH_KEY_SOURCE": "passphrase",
        "IDX_AUTH_PASSPHRASE_FILE": str(phrase),
    }
    login(store_env, index.simple)
    with Agent({**env, "IDX_AUTH_KEY_SOURCE": "passphrase"}):
        for argv in lookups(index)[:8]:
            assert launcher.answer(argv, env) is None, argv
            assert both(argv, env).returncode == 1, argv
        for argv in lookups(index)[8:]:
            both(argv, env)


def test_identical_for_bearer_tokens_ambiguity_and_unencodable_secrets(
    index: Index, env: dict[str, str]
) -> None:
    host = f"127.0.0.1:{index.port}"
    login(env, f"http://{host}/team", "bob", "bob-pw")
    login(env, f"http://{host}/team", "carol", "carol-pw")
    r = run([tool("idx-auth"), "login", f"http://{host}/tok", "--token", "-"], stdin="tk", env=env)
    assert r.returncode == 0, r.stderr
    login(env, f"http://{host}/u", "dora", "p\u00e4ss")
    with Agent(env):
        r = both(["get", f"http://{host}/team/simple/", "--mode", "creds"], env)
        assert r.returncode == 1 and "bob, carol" in r.stderr  # ambiguous: keyring says so
        assert both(["get", f"http://{host}/team/simple/", "carol"], env).stdout == "carol-pw\n"
        assert (
            both(["get", f"http://{host}/tok/", "--mode", "creds"], env).stdout == "__token__\ntk\n"
        )
        assert both(["get", f"http://{host}/tok/", "__token__"], env).stdout == "tk\n"
        assert both(["get", f"http://{host}/u/", "dora"], env).stdout == "p\u00e4ss\n"
        ascii_env = {**env, "PYTHONIOENCODING": "ascii"}
        r = both(["get", f"http://{host}/u/", "dora"], ascii_env)
        assert r.returncode == 1 and "UnicodeEncodeError" in r.stderr  # keyring's own failure


def test_another_backend_chosen_is_left_to_keyring(index: Index, env: dict[str, str]) -> None:
    login(env, index.simple)
    plain = {**env, "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"}
    with Agent(env):
        assert launcher.answer(["get", index.simple, USER], plain) is None
        assert both(["get", index.simple, USER], plain).returncode == 1
        rc = Path(env["XDG_CONFIG_HOME"]) / "python_keyring" / "keyringrc.cfg"
        rc.parent.mkdir(parents=True)
        rc.write_text("[backend]\ndefault-keyring = keyrings.alt.file.PlaintextKeyring\n")
        assert launcher.answer(["get", index.simple, USER], env) is None
        assert both(["get", index.simple, USER], env).returncode == 1
        r = run([tool("idx-auth"), "setup", "keyring", "--force"], env=env)
        assert r.returncode == 0, r.stderr
        assert launcher.answer(["get", index.simple, USER], env) == PASSWORD + "\n"
        assert both(["get", index.simple, USER], env).stdout == PASSWORD + "\n"


def test_set_and_del_reach_keyring(index: Index, env: dict[str, str]) -> None:
    service = f"http://127.0.0.1:{index.port}/x"
    fast = os.path.join(env["PATH"].split(os.pathsep)[0], "keyring")
    with Agent(env):
        assert run([fast, "set", service, "bob"], stdin="bob-pw", env=env).returncode == 0
        assert run([tool("keyring"), "get", service, "bob"], env=env).stdout == "bob-pw\n"
        assert run([fast, "del", service, "bob"], env=env).returncode == 0
        both(["del", service, "bob"], env)  # now absent: the same error from both


def uv_compile(
    index_url: str, env: dict[str, str], *extra: str
) -> subprocess.CompletedProcess[str]:
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
        *extra,
    ]
    return run(argv, stdin=f"{PKG}\n", env=env)


def test_uv_through_the_launcher(index: Index, env: dict[str, str], tmp_path: Path) -> None:
    login(env, index.simple)
    url = f"http://{USER}@127.0.0.1:{index.port}/simple/"
    with Agent(env):
        r = uv_compile(url, env)
        assert r.returncode == 0 and f"{PKG}==0.1.0" in r.stdout, r.stderr
        project = tmp_path / "app"
        project.mkdir()
        (project / "pyproject.toml").write_text(
            f'[project]\nname = "app"\nversion = "0"\nrequires-python = ">=3.11"\n'
            f'dependencies = ["{PKG}"]\n\n[[tool.uv.index]]\nname = "private"\n'
            f'url = "{index.simple}"\ndefault = true\nauthenticate = "always"\n'
        )
        lock = [tool("uv"), "lock", "--keyring-provider", "subprocess", "--python", sys.executable]
        r = subprocess.run(
            lock,
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert r.returncode == 0, r.stderr
    r = uv_compile(url, env)  # agent down: the real keyring reads the store
    assert r.returncode == 0 and f"{PKG}==0.1.0" in r.stdout, r.stderr


def test_pip_through_the_launcher(
    index: Index,
    env: dict[str, str],
    outside_pip: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    login(env, index.simple)
    with Agent(env):
        r = pip_download(outside_pip, "subprocess", index, tmp_path / "d", env)
        assert r.returncode == 0, r.stdout + r.stderr
    assert [p.name for p in (tmp_path / "d").iterdir()] == [
        "idx_private_pkg-0.1.0-py3-none-any.whl"
    ]
