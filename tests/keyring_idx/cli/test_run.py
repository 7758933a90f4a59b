"""``idx-auth run --dry-run`` and ``idx-auth env``: names, never values; the CI files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from keyring_idx.cli.run import uv_cli_indexes
from tests.keyring_idx.cli.conftest import Cli

SECRET = "s3cret-never-shown"


def project(path: Path, extra: str = "") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0"\n\n'
        '[[tool.uv.index]]\nname = "corp-main"\nurl = "https://pkgs.example.com/main/simple/"\n'
        "default = true\n\n"
        '[[tool.uv.index]]\nname = "other"\nurl = "https://other.example.com/simple/"\n'
        "explicit = true\n\n"
        '[[tool.poetry.source]]\nname = "corp.src"\nurl = "https://pkgs.example.com/main/simple/"\n'
        f"{extra}"
    )
    return path


@pytest.fixture
def stored(cli: Cli) -> None:
    code, _, err = cli(
        "login", "https://pkgs.example.com/main/", "-u", "alice", "--password", "-", stdin=SECRET
    )
    assert code == 0, err


def test_dry_run_lists_names_never_values(
    cli: Cli, stored: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project(tmp_path / "app"))
    code, out, err = cli(
        "run", "--dry-run", "--", "twine", "upload", "--repository-url",
        "https://pkgs.example.com/main/", "dist/x.whl",
    )  # fmt: skip
    assert code == 0
    assert out.splitlines() == [
        "UV_INDEX_CORP_MAIN_USERNAME",
        "UV_INDEX_CORP_MAIN_PASSWORD",
        "POETRY_HTTP_BASIC_CORP_SRC_USERNAME",
        "POETRY_HTTP_BASIC_CORP_SRC_PASSWORD",
        "TWINE_USERNAME",
        "TWINE_PASSWORD",
        "UV_PUBLISH_USERNAME",
        "UV_PUBLISH_PASSWORD",
        "HATCH_INDEX_USER",
        "HATCH_INDEX_AUTH",
        "PDM_PUBLISH_USERNAME",
        "PDM_PUBLISH_PASSWORD",
    ]
    assert SECRET not in out + err
    # The explicit index has nothing stored: named, and left alone.
    assert "uv other (https://other.example.com/simple/): no stored credential" in err


def test_project_option_and_uv_command_line_indexes(cli: Cli, stored: None, tmp_path: Path) -> None:
    app = project(tmp_path / "app")
    code, out, _ = cli(
        "run", "--project", str(app), "--dry-run", "--",
        "uv", "pip", "compile", "--index", "cli-idx=https://pkgs.example.com/main/x/simple/",
    )  # fmt: skip
    assert code == 0 and out.splitlines()[:2] == [
        "UV_INDEX_CLI_IDX_USERNAME",
        "UV_INDEX_CLI_IDX_PASSWORD",
    ]
    assert cli("run", "--project", str(tmp_path / "nope"), "--", "true")[0] == 2
    assert cli("run", "--dry-run")[0] == 2  # no command


def test_uv_cli_indexes() -> None:
    assert uv_cli_indexes(["uv", "sync", "--index", "a=u1", "--default-index=b=u2"]) == (
        ("a=u1",),
        "b=u2",
    )
    assert uv_cli_indexes(["pip", "install", "--index", "a=u1"]) == ((), None)
    assert uv_cli_indexes(["/x/uv", "run", "--", "tool", "--index", "a=u"]) == ((), None)


def test_bad_configuration_is_one_line(cli: Cli, tmp_path: Path) -> None:
    app = project(tmp_path / "app", '\n[[tool.poetry.source]]\nurl = "https://x/"\n')
    code, out, err = cli("run", "--project", str(app), "--dry-run", "--", "true")
    assert (code, out) == (2, "") and "has no name" in err and err.count("\n") == 1


def test_env_for_github_actions_masks_then_appends(
    cli: Cli, stored: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project(tmp_path / "app"))
    github_env = tmp_path / "github_env"
    github_env.write_text("EARLIER=1\n")
    monkeypatch.setenv("GITHUB_ENV", str(github_env))
    code, out, err = cli("env", "--github-actions")
    assert code == 0
    assert out == f"::add-mask::{SECRET}\n"  # what the runner consumes: each secret, once
    assert SECRET not in err
    text = github_env.read_text()
    assert text.startswith("EARLIER=1\n")
    # Parse the file as the runner does: NAME<<DELIM, value lines, DELIM.
    lines = text.splitlines()[1:]
    parsed = {}
    while lines:
        name, _, delim = lines.pop(0).partition("<<")
        value = []
        while (line := lines.pop(0)) != delim:
            value.append(line)
        parsed[name] = "\n".join(value)
    assert parsed["UV_INDEX_CORP_MAIN_USERNAME"] == "alice"
    assert parsed["UV_INDEX_CORP_MAIN_PASSWORD"] == SECRET
    assert parsed["POETRY_HTTP_BASIC_CORP_SRC_PASSWORD"] == SECRET


def test_env_for_github_needs_the_runner(cli: Cli) -> None:
    code, out, err = cli("env", "--github-actions")
    assert (code, out) == (2, "") and "GITHUB_ENV" in err


def test_env_for_gitlab_writes_a_private_file_to_source(
    cli: Cli, stored: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project(tmp_path / "app"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    code, out, err = cli("env", "--gitlab")
    assert code == 0 and SECRET not in out + err
    path = Path(out.strip())
    assert path.parent == tmp_path and (path.stat().st_mode & 0o777) == 0o600
    shown = subprocess.run(
        ["sh", "-c", f'. "{path}" && printf %s "$UV_INDEX_CORP_MAIN_PASSWORD"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout == SECRET


def test_env_with_nothing_stored_exits_1(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project(tmp_path / "app"))
    code, out, err = cli("env", "--gitlab")
    assert (code, out) == (1, "") and "no stored credential" in err
