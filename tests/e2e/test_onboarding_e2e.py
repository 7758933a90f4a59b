"""``idx-auth login --project``: every index a project declares, in one command, against a real
OpenBao and a real terminal; ``doctor`` names the declared index that has no credential."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from store.dirs import Dirs
from store.vault import Vault
from tests.e2e.conftest import run, tool
from tests.e2e.test_tty_prompt import talk
from tests.store.reading import read_credential
from tests.store.refresh.openbao import OpenBao, unique_path


@pytest.fixture
def project(openbao: OpenBao, tmp_path: Path) -> tuple[Path, str]:
    """A project with a Vault-backed index and one whose password a person types; returns
    its directory and the AppRole secret id (which must never be stored or shown)."""
    path = unique_path()
    openbao.put_kv2(path, password="from-vault", username="ci-bot")
    mount, _, rest = path.partition("/")
    role_id, secret_id = openbao.approle(openbao.reader(f"{mount}/data/{rest}"))
    secret_file = tmp_path / "secret-id"
    secret_file.write_text(secret_id)
    root = tmp_path / "app"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        f"""
[project]
name = "app"
version = "0"

[[tool.uv.index]]
name = "internal"
url = "https://pypi.internal.example/simple/"

[[tool.uv.index]]
name = "legacy"
url = "https://legacy.example/pypi/simple/"

[tool.idx-auth.indexes.internal]
provider = "vault"
vault-addr = "{openbao.addr}"
vault-path = "{path}"
vault-username-field = "username"
vault-auth = "approle"
vault-role-id = "{role_id}"
vault-role-secret-id-file = "{secret_file}"
vault-refresh-interval = 120

[tool.idx-auth.indexes.legacy]
username = "alice"
"""
    )
    return root, secret_id


def doctor(root: Path) -> dict[str, dict[str, str]]:
    done = run([tool("idx-auth"), "doctor", "--project", str(root), "--no-probe", "--json"])
    checks = json.loads(done.stdout)["checks"]
    return {c["name"]: c for c in checks if c["name"].startswith("declared")}


def test_login_project_logs_in_to_every_declared_index(
    project: tuple[Path, str], dirs: Dirs
) -> None:
    root, secret_id = project
    before = doctor(root)
    assert before["declared[internal]"]["verdict"] == "fail"
    assert "no credential stored" in before["declared[internal]"]["detail"]
    assert before["declared[internal]"]["fix"] == "idx-auth login --project"

    code, screen = talk([tool("idx-auth"), "login", "--project", str(root)], ["typed-legacy"])
    assert code == 0, screen
    assert "password:" in screen and "typed-legacy" not in screen  # asked for, not echoed
    assert "Logged in to 2 of 2 declared indexes" in screen and secret_id not in screen
    vault = Vault(dirs)
    internal = read_credential(vault, "https://pypi.internal.example/", "ci-bot")
    legacy = read_credential(vault, "https://legacy.example/pypi/", "alice")
    assert internal is not None and internal.secret == "from-vault"
    assert legacy is not None and legacy.secret == "typed-legacy"
    text = dirs.store_file.read_text()
    assert secret_id not in text and "from-vault" not in text

    after = doctor(root)
    assert {c["verdict"] for c in after.values()} == {"ok"}, after
    assert "vault provider" in after["declared[internal]"]["detail"]


def test_one_bad_declaration_does_not_stop_the_others(
    project: tuple[Path, str], dirs: Dirs
) -> None:
    root, _ = project
    pyproject = root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + '\n[tool.idx-auth.indexes.ghost]\nprovider = "vault"\n'
    )
    # No terminal: the typed password cannot be asked for; the Vault one still works.
    done = run([tool("idx-auth"), "login", "--project", str(root)], env=dict(os.environ))
    assert done.returncode == 2
    assert "legacy: failed: no password given and stdin is not a terminal" in done.stderr
    assert "ghost: failed: no uv index is named 'ghost'" in done.stderr
    assert "Logged in to 1 of 3 declared indexes" in done.stderr
    checks = doctor(root)
    assert checks["declared[internal]"]["verdict"] == "ok"
    assert checks["declared[legacy]"]["verdict"] == "fail"
    assert checks["declared[ghost]"]["verdict"] == "fail"


def test_secrets_in_the_project_file_are_refused(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.idx-auth.indexes.x]\nprovider = "oauth2"\nclient-secret = "oops"\n'
    )
    done = run([tool("idx-auth"), "login", "--project", str(tmp_path)])
    assert done.returncode == 2
    assert "secrets do not belong in pyproject.toml" in done.stderr and "oops" not in done.stderr
