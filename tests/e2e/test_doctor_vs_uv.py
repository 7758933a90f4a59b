"""Doctor's verdict against what the real uv does: when doctor finds no failure, uv gets the
private package through keyring and our store; when doctor fails the chain, uv fails too."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.dirs import resolve_dirs
from store.vault import Vault
from tests.e2e.differential import BIN, IDX_AUTH, isolated_env, uv_compile
from tests.e2e.graph_diff import uv_lock
from tests.e2e.index_server import IndexServer, IndexSpec, Release, serve

pytestmark = pytest.mark.timeout(180)

SECRET = "s3cret-for-uv"


@pytest.fixture(scope="module")
def server() -> Iterator[IndexServer]:
    spec = IndexSpec("private", {"internal-lib": [Release("1.0")]}, auth=("aws", SECRET))
    with serve([spec, IndexSpec("public", {"requests": [Release("2.31")]})]) as s:
        yield s


def setup(
    tmp_path: Path, s: IndexServer, index_extra: str, **env: str
) -> tuple[Path, dict[str, str]]:
    wanted = {"PATH": f"{BIN}:/usr/bin:/bin", "UV_KEYRING_PROVIDER": "subprocess", **env}
    full = isolated_env(tmp_path, **{k: v for k, v in wanted.items() if v})  # "": unset
    Vault(resolve_dirs(full), env=full).login(f"{s.base}/private", "aws", SECRET)
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        f"""[project]
name = "app"
version = "0"
dependencies = ["internal-lib"]

[[tool.uv.index]]
name = "private"
url = "{s.url("private")}"
{index_extra}

[[tool.uv.index]]
name = "public"
url = "{s.url("public")}"
default = true
"""
    )
    return project, full


def doctor(project: Path, env: dict[str, str]) -> tuple[int, dict[str, str]]:
    result = subprocess.run(
        [str(IDX_AUTH), "doctor", "--json", "--project", str(project)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert SECRET not in result.stdout + result.stderr
    checks = json.loads(result.stdout)["checks"]
    return result.returncode, {c["name"]: c["verdict"] for c in checks}


@pytest.mark.parametrize(
    ("index_extra", "env", "works", "failing"),
    [
        ("", {}, False, "username[private]"),
        ("", {"UV_INDEX_PRIVATE_USERNAME": "aws"}, True, None),
        ('authenticate = "always"', {}, True, None),
        ("", {"UV_INDEX_PRIVATE_USERNAME": "alice"}, False, "username[private]"),
        (
            "",
            {"UV_INDEX_PRIVATE_USERNAME": "aws", "UV_KEYRING_PROVIDER": ""},
            False,
            "keyring-provider",
        ),
    ],
    ids=["no-username", "env-username", "always", "wrong-username", "no-provider"],
)
def test_doctor_agrees_with_uv(
    tmp_path: Path,
    server: IndexServer,
    index_extra: str,
    env: dict[str, str],
    works: bool,
    failing: str | None,
) -> None:
    project, full = setup(tmp_path, server, index_extra, **env)
    code, verdicts = doctor(project, full)
    uv = uv_compile(project, full, None)
    assert verdicts["keyring"] == "ok"
    if works:
        assert code == 0, verdicts
        assert uv.code == 0, uv.stderr
        assert uv.picks["internal-lib"] == ("1.0", server.url("private"))
    else:
        assert code == 1 and failing is not None and verdicts[failing] == "fail", verdicts
        assert uv.code != 0, uv.stdout


@pytest.mark.parametrize("username", ["aws", ""], ids=["env-username", "no-username"])
def test_a_workspace_member_is_checked_with_the_roots_indexes(
    tmp_path: Path, server: IndexServer, username: str
) -> None:
    # uv lock takes [[tool.uv.index]] from the workspace root: so must doctor, run in a member
    root, full = setup(tmp_path, server, "", UV_INDEX_PRIVATE_USERNAME=username)
    text = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(
        text.replace(
            'dependencies = ["internal-lib"]',
            'dependencies = []\n\n[tool.uv.workspace]\nmembers = ["member"]',
        )
    )
    member = root / "member"
    member.mkdir()
    (member / "pyproject.toml").write_text(
        '[project]\nname = "member"\nversion = "0"\ndependencies = ["internal-lib"]\n\n'
        # a [tool.uv] table of its own, which uv does not take settings from
        '[tool.uv.sources]\ninternal-lib = { index = "private" }\n'
    )
    code, verdicts = doctor(member, full)
    uv = uv_lock(root, full)
    if username:
        assert code == 0, verdicts
        assert uv.code == 0, uv.stderr
        assert uv.picks["internal-lib"] == ("1.0", server.url("private"))
    else:
        assert code == 1 and verdicts["username[private]"] == "fail", verdicts
        assert uv.code != 0, uv.stdout
