"""``idx-auth login --project``: usage rules and per-index failures (in-process)."""

from __future__ import annotations

from pathlib import Path

from tests.keyring_idx.cli.conftest import Cli


def write(root: Path, body: str) -> Path:
    root.mkdir(exist_ok=True)
    (root / "pyproject.toml").write_text(body)
    return root


INDEX = '[[tool.uv.index]]\nname = "internal"\nurl = "https://user@pypi.internal.example/simple/"\n'


def test_service_and_project_together_or_project_with_options(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("login", "https://x.example", "--project", str(tmp_path))
    assert code == 2 and "not both" in err
    code, _, err = cli("login", "--project", str(tmp_path), "--provider", "vault", "-u", "a")
    assert code == 2 and "drop --username, --provider" in err


def test_nothing_declared_is_exit_1(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path, INDEX)
    code, _, err = cli("login", "--project", str(tmp_path))
    assert code == 1 and "No [tool.idx-auth.indexes.NAME] tables" in err


def test_unknown_option_and_bad_value_fail_that_index_only(cli: Cli, tmp_path: Path) -> None:
    root = write(
        tmp_path / "app",
        INDEX
        + '\n[[tool.uv.index]]\nname = "other"\nurl = "https://other.example/simple/"\n'
        + '\n[tool.idx-auth.indexes.internal]\nvault-colour = "blue"\n'
        + '\n[tool.idx-auth.indexes.other]\nprovider = "ldap"\n',
    )
    code, _, err = cli("login", "--project", str(root))
    assert code == 2
    assert "internal: https://pypi.internal.example/simple/" in err  # userinfo dropped
    assert "internal: failed: [tool.idx-auth.indexes.internal] has 'vault-colour'" in err
    assert "other: failed: argument --provider: invalid choice: 'ldap'" in err
    assert "Logged in to 0 of 2 declared indexes" in err


def test_a_declared_password_index_reads_stdin_like_login(cli: Cli, tmp_path: Path) -> None:
    root = write(
        tmp_path / "app",
        INDEX + '\n[tool.idx-auth.indexes.internal]\nusername = "alice"\npassword = "-"\n',
    )
    code, _, err = cli("login", "--project", str(root), stdin="pw\n")
    # '-' is still a value for 'password': refused, secrets are never declared.
    assert code == 2 and "secrets do not belong in pyproject.toml" in err
