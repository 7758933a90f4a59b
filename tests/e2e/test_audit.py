"""``idx-auth audit`` on loopback indexes: each risk kind is caught (and uv is shown to act on
it), the fix it prints makes the risk go away, and a safe project gets exit 0."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.differential import IDX_AUTH, isolated_env
from tests.e2e.graph_diff import uv_graph, uv_lock
from tests.e2e.index_server import IndexServer, IndexSpec, Release, serve

pytestmark = pytest.mark.timeout(240)
SECRET = "corp-s3cret-token"


def R(version: str, *requires: str) -> Release:
    return Release(version, requires=tuple(requires))


def write(project: Path, deps: list[str], body: str) -> None:
    listed = ", ".join(f'"{d}"' for d in deps)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0.1"\nrequires-python = ">=3.11"\n'
        f"dependencies = [{listed}]\n\n{body}"
    )


def indexes(s: IndexServer, *, explicit: bool = True, strategy: str | None = None) -> str:
    text = f'[tool.uv]\nindex-strategy = "{strategy}"\n\n' if strategy else ""
    text += f'[[tool.uv.index]]\nname = "corp"\nurl = "{s.url("corp")}"\n'
    text += "explicit = true\n\n" if explicit else "\n"
    return text + f'[[tool.uv.index]]\nname = "pub"\nurl = "{s.url("pub")}"\ndefault = true\n\n'


def audit(project: Path, env: dict[str, str]) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run(
        [str(IDX_AUTH), "audit", "--project", str(project), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    doc = json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc.returncode, doc, proc.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "project"
    p.mkdir()
    return p


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path)


def login(env: dict[str, str], service: str) -> None:
    proc = subprocess.run(
        [str(IDX_AUTH), "login", service, "-u", "ci", "--password", "-"],
        input=SECRET,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr


def test_wrong_index_for_a_dependency_of_a_pinned_package(
    project: Path, env: dict[str, str]
) -> None:
    specs = [
        IndexSpec(
            "corp",
            {"corp-lib": [R("1.0", "corp-util")], "corp-util": [R("1.0")]},
            auth=("ci", SECRET),
        ),
        IndexSpec("pub", {"corp-util": [R("9.9")], "six": [R("1.17")]}),  # the attacker's
    ]
    with serve(specs) as s:
        login(env, s.url("corp"))
        write(
            project,
            ["corp-lib", "six"],
            indexes(s) + '[tool.uv.sources]\ncorp-lib = { index = "corp" }\n',
        )
        code, doc, err = audit(project, env)
        assert code == 1, err
        assert doc["risks"] == [
            {
                "package": "corp-util",
                "kind": "wrong-index",
                "index": s.url("pub"),
                "expected_index": s.url("corp"),
                "fix": "[project]\n"
                'dependencies = [..., "corp-util"]  # sources apply to direct dependencies only\n'
                "[tool.uv.sources]\n"
                'corp-util = { index = "corp" }',
            }
        ]
        assert SECRET not in json.dumps(doc) + err
        # doctor runs the same checks
        proc = subprocess.run(
            [str(IDX_AUTH), "doctor", "--json", "--project", str(project)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
        assert proc.returncode == 1
        assert checks["audit[corp-util]"]["verdict"] == "fail"
        assert checks["audit[corp-util]"]["detail"].startswith("wrong-index: corp-util")
        assert 'corp-util = { index = "corp" }' in checks["audit[corp-util]"]["fix"]
        assert SECRET not in proc.stdout + proc.stderr
        # uv really takes it from the public index ...
        uv_env = {**env, "UV_INDEX_CORP_USERNAME": "ci", "UV_INDEX_CORP_PASSWORD": SECRET}
        uv = uv_graph(project, uv_env, None)
        assert uv.picks["corp-util"] == ("9.9", s.url("pub")), uv.stderr
        # ... and after the fix, from corp; the audit is quiet.
        write(
            project,
            ["corp-lib", "corp-util", "six"],
            indexes(s)
            + '[tool.uv.sources]\ncorp-lib = { index = "corp" }\ncorp-util = { index = "corp" }\n',
        )
        uv = uv_graph(project, uv_env, None)
        assert uv.picks["corp-util"] == ("1.0", s.url("corp")), uv.stderr
        code, doc, err = audit(project, env)
        assert (code, doc) == (0, {"risks": []}), err


def test_unsafe_strategy_with_a_name_on_both_indexes(project: Path, env: dict[str, str]) -> None:
    specs = [
        IndexSpec("corp", {"shared": [R("1.0")]}),
        IndexSpec("pub", {"shared": [R("5.0")]}),
    ]
    with serve(specs) as s:
        write(project, ["shared"], indexes(s, explicit=False, strategy="unsafe-first-match"))
        code, doc, err = audit(project, env)
        assert code == 1, err
        (risk,) = doc["risks"]
        assert risk["kind"] == "unsafe-strategy"
        assert (risk["package"], risk["index"], risk["expected_index"]) == (
            "shared",
            s.url("pub"),
            s.url("corp"),
        )
        assert risk["fix"] == '[tool.uv.sources]\nshared = { index = "corp" }'


def test_claimable_name_only_on_the_private_index(project: Path, env: dict[str, str]) -> None:
    specs = [
        IndexSpec("corp", {"corp-lib": [R("1.0", "corp-only")], "corp-only": [R("2.0")]}),
        IndexSpec("pub", {"six": [R("1.17")]}),
    ]
    with serve(specs) as s:
        write(
            project, ["corp-lib"], indexes(s) + '[tool.uv.sources]\ncorp-lib = { index = "corp" }\n'
        )
        uv = uv_graph(project, env, None)
        assert uv.code != 0  # uv looks for corp-only on pub only: anyone may publish it there
        code, doc, err = audit(project, env)
        assert code == 1, err
        (risk,) = doc["risks"]
        assert (risk["package"], risk["kind"]) == ("corp-only", "claimable")
        assert (risk["index"], risk["expected_index"]) == (s.url("pub"), s.url("corp"))
        assert 'corp-only = { index = "corp" }' in risk["fix"]


def test_claimable_unpinned_direct_dependency_on_an_implicit_index(
    project: Path, env: dict[str, str]
) -> None:
    specs = [IndexSpec("corp", {"internal": [R("1.0")]}), IndexSpec("pub", {"six": [R("1.0")]})]
    with serve(specs) as s:
        write(project, ["internal", "six"], indexes(s, explicit=False))
        code, doc, err = audit(project, env)
        assert code == 1, err
        (risk,) = doc["risks"]
        assert (risk["package"], risk["kind"]) == ("internal", "claimable")
        assert risk["fix"] == '[tool.uv.sources]\ninternal = { index = "corp" }'


def test_a_safe_project_has_no_risk(project: Path, env: dict[str, str]) -> None:
    specs = [
        IndexSpec("corp", {"corp-lib": [R("1.0", "corp-util", "six")], "corp-util": [R("1.0")]}),
        IndexSpec("pub", {"six": [R("1.17")], "attrs": [R("23.1", "six")]}),
    ]
    with serve(specs) as s:
        write(
            project,
            ["corp-lib", "corp-util", "attrs"],
            indexes(s)
            + '[tool.uv.sources]\ncorp-lib = { index = "corp" }\ncorp-util = { index = "corp" }\n',
        )
        code, doc, err = audit(project, env)
        assert (code, doc) == (0, {"risks": []}), err
        proc = subprocess.run(
            [str(IDX_AUTH), "audit", "--project", str(project)],
            capture_output=True,
            text=True,
            env=env,
        )
        assert proc.returncode == 0
        assert "no dependency-confusion risk in 4 packages over 2 indexes" in proc.stderr


def test_a_workspace_member_is_audited_with_the_roots_indexes_and_pins(
    tmp_path: Path, env: dict[str, str]
) -> None:
    # uv lock reads [tool.uv] and tool.uv.sources from the workspace root, not the member
    specs = [
        IndexSpec("corp", {"corp-lib": [R("1.0")]}),
        IndexSpec("pub", {"corp-lib": [R("9.0")], "six": [R("1.17")]}),
    ]
    root = tmp_path / "ws"
    member = root / "app"
    member.mkdir(parents=True)
    with serve(specs) as s:
        (root / "pyproject.toml").write_text(
            '[project]\nname = "ws"\nversion = "0.1"\nrequires-python = ">=3.11"\n'
            'dependencies = []\n\n[tool.uv.workspace]\nmembers = ["app"]\n\n'
            + indexes(s)
            + '[tool.uv.sources]\ncorp-lib = { index = "corp" }\n'
        )
        write(member, ["corp-lib", "six"], "")
        uv = uv_lock(root, env)  # the lock of the whole workspace, at its root
        assert uv.code == 0, uv.stderr
        assert uv.picks["corp-lib"] == ("1.0", s.url("corp"))
        code, doc, err = audit(member, env)
        assert (code, doc) == (0, {"risks": []}), err


def test_dependency_groups_are_audited_as_uv_lock_resolves_them(
    project: Path, env: dict[str, str]
) -> None:
    specs = [IndexSpec("corp", {"internal": [R("1.0")]}), IndexSpec("pub", {"six": [R("1.0")]})]
    with serve(specs) as s:
        write(
            project,
            ["six"],
            indexes(s, explicit=False) + '[dependency-groups]\ndev = ["internal"]\n',
        )
        uv = uv_lock(project, env)
        assert uv.code == 0, uv.stderr
        assert uv.picks["internal"] == ("1.0", s.url("corp"))  # in the lock, from the first index
        code, doc, err = audit(project, env)
        assert code == 1, err
        (risk,) = doc["risks"]
        assert (risk["package"], risk["kind"]) == ("internal", "claimable")


def test_an_index_that_cannot_be_asked_is_an_error(project: Path, env: dict[str, str]) -> None:
    specs = [
        IndexSpec("corp", {"corp-lib": [R("1.0")]}, auth=("ci", SECRET)),  # no credential stored
        IndexSpec("pub", {"six": [R("1.17")]}),
    ]
    with serve(specs) as s:
        write(project, ["six"], indexes(s))
        code, doc, err = audit(project, env)
        assert code == 2 and doc == {}
        assert "401" in err and "idx-auth login" in err and "Traceback" not in err


def test_no_project_is_an_error(tmp_path: Path, env: dict[str, str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = audit(empty, env)
    assert code == 2 and "pyproject.toml" in err
