"""poetry, pdm, hatch and twine, each installed as its own tool, against pypiserver with
htpasswd: ``idx-auth setup TOOL`` and then the flow the README gives for it, first try.

Also: ``idx-auth setup keyring`` leaves a keyring environment without keyring-idx working.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.localindex import Index, serve, write_htpasswd
from demo.wheels import write_wheel
from tests.e2e.clients import Tools
from tests.e2e.conftest import BIN, run, tool

PKG = "idx-client-pkg"
USER, PASSWORD = "alice", "s3cret-alice"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    base = tmp_path_factory.mktemp("index")
    write_wheel(base / "packages", PKG, "0.1.0")
    htpasswd = write_htpasswd(base / "htpasswd", {USER: PASSWORD})
    with serve(base / "packages", htpasswd, log=base / "server.log") as ix:
        yield ix


@pytest.fixture
def tools(tmp_path: Path) -> Tools:
    return Tools(tmp_path / "tools")


@pytest.fixture
def env(isolated_home: Path, tools: Tools) -> dict[str, str]:
    e = dict(os.environ)
    assert "PYTHON_KEYRING_BACKEND" not in e
    return tools.env(e)


def in_dir(
    argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def login(env: dict[str, str], service: str) -> None:
    r = run(
        [tool("idx-auth"), "login", service, "-u", USER, "--password", "-"], stdin=PASSWORD, env=env
    )
    assert r.returncode == 0, r.stderr


def setup(client: str, env: dict[str, str]) -> str:
    r = run([tool("idx-auth"), "setup", client], env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    return r.stderr


def backend_of(python: Path, env: dict[str, str]) -> str:
    code = "import keyring; b = keyring.get_keyring(); print(type(b).__module__, type(b).__name__)"
    r = run([str(python), "-I", "-c", code], env=env)  # -I: not the checkout in the cwd
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


# -- 1. setup keyring breaks nobody ----------------------------------------------------------


def test_setup_keyring_leaves_an_environment_without_us_working(
    index: Index, tools: Tools, env: dict[str, str], isolated_home: Path
) -> None:
    other = tools.install("keyring", env)  # `uv tool install keyring --with keyrings.alt`
    twine = tools.install("twine", env)  # twine as its own tool, without keyring-idx
    rc = isolated_home / ".config" / "python_keyring" / "keyringrc.cfg"
    rc.parent.mkdir(parents=True)
    # The control: what `setup keyring` used to write breaks every environment without us.
    rc.write_text("[backend]\ndefault-keyring = keyring_idx.backend.IdxKeyring\n")
    r = run([str(other), "get", "my-app", "bob"], env=env)
    assert r.returncode != 0 and "No module named 'keyring_idx'" in r.stderr

    login(env, index.root)
    r = run([tool("idx-auth"), "setup", "keyring"], env=env)
    assert r.returncode == 0, r.stderr
    # The other environment: keyring chooses as with no keyringrc.cfg (keyrings.alt here).
    assert backend_of(tools.python("keyring"), env) == "keyrings.alt.file PlaintextKeyring"
    r = run([str(other), "set", "my-app", "bob"], stdin="pw-bob\n", env=env)
    assert r.returncode == 0, r.stderr
    r = run([str(other), "get", "my-app", "bob"], env=env)
    assert (r.returncode, r.stdout) == (0, "pw-bob\n"), r.stderr
    # twine's environment has no backend at all: twine says so, no import error.
    wheel = write_wheel(isolated_home / "dist", "idx-unsent-pkg", "0.1.0")
    r = run(
        [str(twine), "upload", "--non-interactive", "--repository-url", index.root, str(wheel)],
        env=env,
    )
    assert r.returncode != 0
    assert "keyring_idx" not in r.stdout + r.stderr and "Traceback" not in r.stdout + r.stderr
    # Ours: the backend is loaded directly and answers from the store.
    assert backend_of(BIN / "python", env) == "keyring_idx.backend IdxKeyring"
    r = run([tool("keyring"), "--mode", "creds", "get", index.simple], env=env)
    assert r.stdout == f"{USER}\n{PASSWORD}\n", r.stderr


# -- 2. setup TOOL, then each tool's own flow --------------------------------------------------


def test_poetry_source_add_install_and_publish(
    index: Index, tools: Tools, env: dict[str, str], tmp_path: Path
) -> None:
    poetry = str(tools.install("poetry", env))
    login(env, index.root)
    err = setup("poetry", env)
    assert "uv tool install poetry==2.5.1 --with" in err
    assert "ok: poetry's Python" in err and "keyring_idx.backend.IdxKeyring" in err
    assert backend_of(tools.python("poetry"), env) == "keyring_idx.backend IdxKeyring"

    app = tmp_path / "app"
    app.mkdir()
    (app / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        "dependencies = []\n\n[tool.poetry]\npackage-mode = false\n"
    )
    for argv in (
        [poetry, "source", "add", "--priority=supplemental", "private", index.simple],
        [poetry, "add", "--source", "private", PKG],
        [poetry, "install"],
        [poetry, "run", "python", "-c", "import idx_client_pkg"],
    ):
        r = in_dir([*argv, "--no-interaction"] if argv[1] != "run" else argv, app, env)
        assert r.returncode == 0, f"{argv[1:3]}: {r.stdout}\n{r.stderr}"
    assert f'name = "{PKG}"' in (app / "poetry.lock").read_text()

    lib = tmp_path / "lib"
    (lib / "src" / "idx_poetry_lib").mkdir(parents=True)
    (lib / "src" / "idx_poetry_lib" / "__init__.py").write_text("")
    (lib / "pyproject.toml").write_text(
        '[project]\nname = "idx-poetry-lib"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n\n'
        '[build-system]\nrequires = ["poetry-core>=2.0"]\n'
        'build-backend = "poetry.core.masonry.api"\n'
    )
    r = in_dir([poetry, "config", "repositories.private", index.root], lib, env)
    assert r.returncode == 0, r.stderr
    r = in_dir([poetry, "publish", "--build", "-r", "private", "--no-interaction"], lib, env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (index.packages / "idx_poetry_lib-0.1.0-py3-none-any.whl").is_file()
    assert PASSWORD not in r.stdout + r.stderr


def test_pdm_add_from_a_source_without_username(
    index: Index, tools: Tools, env: dict[str, str], tmp_path: Path
) -> None:
    pdm = str(tools.install("pdm", env))
    login(env, index.root)
    err = setup("pdm", env)
    # pdm has no keyring module: it runs the `keyring` command on PATH, which is ours.
    assert "runs `" + str(BIN / "keyring") + "`" in err and "nothing to install" in err
    app = tmp_path / "papp"
    app.mkdir()
    (app / "pyproject.toml").write_text(
        '[project]\nname = "papp"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        'dependencies = []\n\n[[tool.pdm.source]]\nname = "private"\n'
        f'url = "{index.simple}"\n'
    )
    r = in_dir([pdm, "add", PKG], app, env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert PKG in (app / "pdm.lock").read_text()


def test_hatch_publish(index: Index, tools: Tools, env: dict[str, str], tmp_path: Path) -> None:
    hatch = str(tools.install("hatch", env))
    login(env, index.root)
    assert "ok: hatch's Python" in setup("hatch", env)
    wheel = write_wheel(tmp_path / "dist", "idx-hatch-pkg", "0.1.0")
    r = in_dir([hatch, "publish", "-n", "-r", index.root, "-u", USER, str(wheel)], tmp_path, env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (index.packages / wheel.name).is_file()


def test_twine_as_its_own_tool(
    index: Index, tools: Tools, env: dict[str, str], tmp_path: Path
) -> None:
    twine = str(tools.install("twine", env))
    login(env, index.root)
    assert "ok: twine's Python" in setup("twine", env)
    assert "nothing to do" in setup("twine", env)  # a second run changes nothing
    wheel = write_wheel(tmp_path / "dist", "idx-twine-pkg", "0.1.0")
    # No -u: twine asks keyring for the username too.
    argv = [twine, "upload", "--non-interactive", "--disable-progress-bar"]
    r = run([*argv, "--repository-url", index.root, str(wheel)], env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (index.packages / wheel.name).is_file()


def test_setup_prints_the_step_when_the_installer_is_missing(
    tools: Tools, env: dict[str, str]
) -> None:
    tools.install("hatch", env)
    # uv is not on PATH (only the tool's bin dir and the system's): print, do not run.
    bare = {**env, "PATH": os.pathsep.join([str(tools.bin), "/usr/bin", "/bin"])}
    r = run([tool("idx-auth"), "setup", "hatch"], env=bare)
    assert r.returncode == 1, r.stderr
    assert r.stdout.startswith("uv tool install hatch==1.18.2 --with 'keyring-idx @ ")
    assert "uv is not on PATH" in r.stderr
    assert "keyring.backends.fail" in backend_of(tools.python("hatch"), env)
    r = run([tool("idx-auth"), "setup", "hatch", "--print"], env=env)
    assert r.returncode == 0 and r.stdout.startswith("uv tool install hatch==1.18.2")


def test_poetry_http_basic_without_a_password_hangs_without_a_terminal(
    tools: Tools, env: dict[str, str], tmp_path: Path
) -> None:
    """Why docs/clients.md warns against `poetry config http-basic.NAME USER`: with no
    terminal poetry 2.5 prompts for the password over and over instead of failing."""
    poetry = str(tools.install("poetry", env))
    out = tmp_path / "out"
    with out.open("w") as sink:
        proc = subprocess.Popen(
            [poetry, "config", "http-basic.private", USER],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            with pytest.raises(subprocess.TimeoutExpired):
                proc.wait(timeout=15)
        finally:
            proc.kill()
            proc.wait()
    assert out.read_text().count("Password:") > 1
