"""What each client really asks keyring, and that our backend answers every form of it.

Each client runs once against pypiserver with a recorder in place of keyring: a fake
``keyring`` command first on PATH for the clients that run the command (uv, pip's subprocess
provider, pdm without the keyring module), a recording backend (``PYTHON_KEYRING_BACKEND``)
for those that import keyring (poetry, hatch, twine, pip's import provider). The recorder
answers nothing, so a client goes through every form it has. Each recorded call is then put
to our backend, with the index's credential in the store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.localindex import Index, serve, write_htpasswd
from demo.wheels import write_wheel
from keyring_idx.backend import IdxKeyring
from tests.e2e.clients import Tools
from tests.e2e.conftest import BIN, run, tool

PKG = "idx-argv-pkg"
USER, PASSWORD = "alice", "s3cret-alice"

FAKE_COMMAND = """#!{python}
import json, os, sys
with open(os.environ["IDX_TEST_KEYRING_LOG"], "a") as fh:
    fh.write(json.dumps(["command", *sys.argv[1:]]) + "\\n")
sys.exit(1)  # not found: the client goes on to its next form
"""

RECORDER = """
import json, os
from keyring.backend import KeyringBackend


class Recorder(KeyringBackend):
    priority = 1

    def _log(self, *call):
        with open(os.environ["IDX_TEST_KEYRING_LOG"], "a") as fh:
            fh.write(json.dumps(list(call)) + "\\n")

    def get_password(self, service, username):
        self._log("get_password", service, username)

    def get_credential(self, service, username):
        self._log("get_credential", service, username)

    def set_password(self, service, username, password):
        raise NotImplementedError

    def delete_password(self, service, username):
        raise NotImplementedError
"""


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
def recording(tmp_path: Path, tools: Tools, index: Index) -> dict[str, str]:
    """An environment where every keyring question is written to a log and answered with
    nothing; our store holds the index's credential for the replay."""
    fake = tmp_path / "fake-bin"
    fake.mkdir()
    (fake / "keyring").write_text(FAKE_COMMAND.format(python=sys.executable))
    (fake / "keyring").chmod(0o755)
    lib = tmp_path / "recorder"
    lib.mkdir()
    (lib / "idx_recorder.py").write_text(RECORDER)
    env = tools.env(dict(os.environ))
    r = run(
        [tool("idx-auth"), "login", index.root, "-u", USER, "--password", "-"],
        stdin=PASSWORD,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    env.update(
        IDX_TEST_KEYRING_LOG=str(tmp_path / "keyring.log"),
        PYTHON_KEYRING_BACKEND="idx_recorder.Recorder",
        PYTHONPATH=str(lib),
        PATH=os.pathsep.join([str(fake), env["PATH"]]),
    )
    return env


def recorded(env: dict[str, str]) -> list[list[str | None]]:
    path = Path(env["IDX_TEST_KEYRING_LOG"])
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line) for line in lines]


def answer(call: list[str | None], env: dict[str, str]) -> tuple[str, str] | None:
    """Put one recorded call to our backend: a command line to the real `keyring` command
    (with our backend selected), an in-process call to IdxKeyring."""
    if call[0] == "command":
        argv = [a for a in call[1:] if a is not None]
        real = {k: v for k, v in env.items() if k not in ("PYTHON_KEYRING_BACKEND", "PYTHONPATH")}
        real["PYTHON_KEYRING_BACKEND"] = "keyring_idx.backend.IdxKeyring"
        r = run([str(BIN / "keyring"), *argv], env=real)
        if r.returncode != 0:
            return None
        if "--output=json" in argv:
            doc = json.loads(r.stdout)
            return (doc.get("username", USER), doc["password"])
        lines = r.stdout.splitlines()
        return (lines[0], lines[1]) if len(lines) == 2 else (str(argv[-1]), lines[0])
    method, service, username = call
    assert isinstance(method, str) and isinstance(service, str)
    ring = IdxKeyring()  # type: ignore[no-untyped-call]
    if method == "get_password":
        secret = ring.get_password(service, username or "")
        return None if secret is None else (username or "", secret)
    cred = ring.get_credential(service, username)
    return None if cred is None else (cred.username, cred.password)


def in_dir(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def forms(calls: list[list[str | None]], index: Index) -> list[list[str | None]]:
    """The calls about our index (clients also ask for PyPI, which we do not hold)."""
    host = f"127.0.0.1:{index.port}"
    return [c for c in calls if any(isinstance(a, str) and host in a for a in c)]


def asked_user(call: list[str | None]) -> str | None:
    """The username a call names: the last word of a command line, the in-process argument."""
    if call[0] == "command":
        words = [a for a in call[1:] if a is not None and not a.startswith("--")]
        return words[2] if len(words) > 2 else None  # get SERVICE [USERNAME]
    return call[2]


def assert_every_form_answered(calls: list[list[str | None]], env: dict[str, str]) -> None:
    """Every form about our index is answered with alice's password, except forms naming
    another username (pdm also tries __token__), which must get nothing."""
    assert calls, "the client asked keyring nothing"
    for call in calls:
        got = answer(call, env)
        user = asked_user(call)
        if user not in (None, "", USER):
            assert got is None, call
            continue
        assert got is not None, f"no answer to {call}"
        assert got == (USER, PASSWORD) or got == ("", PASSWORD), call


def test_uv_runs_keyring_get_with_the_username(
    index: Index, recording: dict[str, str], tmp_path: Path
) -> None:
    url = f"http://{USER}@127.0.0.1:{index.port}/simple/"
    argv = [tool("uv"), "pip", "compile", "-", "--index-url", url, "--no-cache"]
    run(
        [*argv, "--keyring-provider", "subprocess", "--python", sys.executable],
        stdin=PKG + "\n",
        env=recording,
    )
    calls = forms(recorded(recording), index)
    assert calls == [
        ["command", "get", index.simple, USER],
        ["command", "get", f"127.0.0.1:{index.port}", USER],
        ["command", "get", f"http://127.0.0.1:{index.port}", USER],
    ]
    assert_every_form_answered(calls, recording)


def test_pip_subprocess_and_import_providers(
    index: Index, recording: dict[str, str], tmp_path: Path
) -> None:
    for provider in ("subprocess", "import"):
        argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir"]
        argv += ["--no-input", "-d", str(tmp_path / provider), "--index-url", index.simple]
        run([*argv, "--keyring-provider", provider, PKG], env=recording)
    calls = forms(recorded(recording), index)
    assert ["command", "--mode=creds", "--output=json", "get", index.simple] in calls
    assert ["command", "--mode=creds", "--output=json", "get", f"127.0.0.1:{index.port}"] in calls
    assert ["get_credential", index.simple, None] in calls
    assert_every_form_answered(calls, recording)


def test_pdm_sends_an_empty_username(
    index: Index, recording: dict[str, str], tools: Tools, tmp_path: Path
) -> None:
    pdm = str(tools.install("pdm", recording))
    app = tmp_path / "app"
    app.mkdir()
    (app / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0"\nrequires-python = ">=3.11"\n'
        f'dependencies = []\n\n[[tool.pdm.source]]\nname = "private"\nurl = "{index.simple}"\n'
    )
    in_dir([pdm, "add", "--no-self", PKG], app, recording)
    calls = forms(recorded(recording), index)
    assert calls[0] == ["command", "--mode=creds", "get", index.simple, ""]
    assert ["command", "--mode=password", "get", index.simple, "__token__"] in calls
    assert_every_form_answered(calls, recording)


def test_poetry_asks_its_repository_name_then_the_url(
    index: Index, recording: dict[str, str], tools: Tools, tmp_path: Path
) -> None:
    poetry = str(tools.install("poetry", recording))
    app = tmp_path / "app"
    app.mkdir()
    (app / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0"\nrequires-python = ">=3.11"\n'
        "dependencies = []\n\n[tool.poetry]\npackage-mode = false\n"
    )
    source = [poetry, "source", "add", "--priority=supplemental", "private", index.simple]
    assert in_dir(source, app, recording).returncode == 0
    in_dir([poetry, "add", "--source", "private", PKG, "--no-interaction"], app, recording)
    calls = recorded(recording)
    # Plain keyring names (its availability check, its own username slot): not index URLs,
    # so the store has nothing under them and the chainer or poetry's config answers.
    plain = [c for c in calls if str(c[1]).startswith(("python-poetry", "poetry-repository-"))]
    assert ["get_password", "python-poetry-check", "python-poetry"] in plain
    assert any(c[1] == "poetry-repository-private" for c in plain)
    for call in plain:
        assert answer(call, recording) is None
    ours = forms(calls, index)
    assert ours == [
        ["get_credential", index.simple.rstrip("/"), None],
        ["get_credential", f"127.0.0.1:{index.port}", None],
    ]
    assert_every_form_answered(ours, recording)


def test_hatch_and_twine_ask_for_the_upload_url(
    index: Index, recording: dict[str, str], tools: Tools, tmp_path: Path
) -> None:
    hatch = str(tools.install("hatch", recording))
    twine = str(tools.install("twine", recording))
    wheel = write_wheel(tmp_path / "dist", "idx-argv-upload", "0.1.0")
    in_dir([hatch, "publish", "-n", "-r", index.root, "-u", USER, str(wheel)], tmp_path, recording)
    hatch_calls = forms(recorded(recording), index)
    assert ["get_password", index.root, USER] in hatch_calls
    assert_every_form_answered(hatch_calls, recording)
    Path(recording["IDX_TEST_KEYRING_LOG"]).unlink()
    upload = [twine, "upload", "--non-interactive", "--repository-url", index.root, str(wheel)]
    in_dir(upload, tmp_path, recording)
    twine_calls = forms(recorded(recording), index)
    assert ["get_credential", index.root, None] in twine_calls
    assert_every_form_answered(twine_calls, recording)
