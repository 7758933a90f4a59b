"""``idx-auth doctor`` against loopback indexes and a real store in tmp (in-process CLI)."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from keyring_idx.cli import main
from store.vault import Vault
from tests.e2e.index_server import IndexServer, IndexSpec, Release, serve

pytestmark = pytest.mark.timeout(120)

SECRET = "s3cret-token-value"
WRONG = "not-the-token"


@pytest.fixture(autouse=True)
def _no_keyring_no_proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No `keyring` on PATH (its check has its own tests) and no proxy for loopback."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.delenv("NETRC", raising=False)


def specs(**private: Any) -> list[IndexSpec]:
    return [
        IndexSpec("private", {"internal-lib": [Release("1.0")]}, auth=("aws", SECRET), **private),
        IndexSpec("public", {"internal-lib": [Release("9.9")], "requests": [Release("2.31")]}),
    ]


@pytest.fixture
def server() -> Iterator[IndexServer]:
    with serve(specs()) as s:
        yield s


def project(tmp_path: Path, s: IndexServer, extra: str = "", explicit: bool = False) -> Path:
    root = tmp_path / "project"
    root.mkdir(exist_ok=True)
    (root / "pyproject.toml").write_text(
        f"""[project]
name = "app"
version = "0"
dependencies = ["internal-lib>=1", "requests"]

[[tool.uv.index]]
name = "private"
url = "{s.url("private")}"
explicit = {"true" if explicit else "false"}

[[tool.uv.index]]
name = "public"
url = "{s.url("public")}"
default = true
{extra}
"""
    )
    return root


def login(s: IndexServer, secret: str = SECRET, user: str = "aws") -> None:
    Vault().login(f"{s.base}/private", user, secret)


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["doctor", "--json", *args])
    out, err = capsys.readouterr()
    for secret in (SECRET, WRONG):
        assert secret not in out + err
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    return code, checks


def test_the_usual_gaps_each_with_its_fix(
    tmp_path: Path, server: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    login(server)
    code, checks = doctor(capsys, "--project", str(project(tmp_path, server)))
    assert code == 1
    assert checks["files"]["verdict"] == "ok"
    assert checks["store"]["verdict"] == "ok"
    assert checks["agent"]["verdict"] == "ok"
    assert checks["keyring"]["verdict"] == "warn"
    assert checks["keyring-provider"]["verdict"] == "fail"  # the store is private's only source
    username = checks["username[private]"]
    assert username["verdict"] == "fail"
    assert username["fix"].startswith("export UV_INDEX_PRIVATE_USERNAME=aws")
    assert checks["username[public]"]["verdict"] == "ok"
    # The resolver's flow gets in with the store's credential; uv would not (no username).
    probe = checks["probe[private]"]
    assert probe["verdict"] == "warn" and "uv itself will not send it" in probe["detail"]
    assert checks["probe[public]"]["verdict"] == "ok"
    assert "anonymously" in checks["probe[public]"]["detail"]
    assert checks["index-strategy"]["verdict"] == "ok"
    confusion = checks["dependency-confusion[internal-lib]"]
    assert confusion["verdict"] == "warn"
    assert "comes from private and also exists on public" in confusion["detail"]
    assert 'internal-lib = { index = "private" }' in confusion["fix"]
    assert "dependency-confusion[requests]" not in checks


def test_all_fixed(
    tmp_path: Path,
    server: IndexServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    login(server)
    pin = '\n[tool.uv.sources]\ninternal-lib = { index = "private" }\n'
    root = project(tmp_path, server, extra=pin, explicit=True)
    monkeypatch.setenv("UV_INDEX_PRIVATE_USERNAME", "aws")
    monkeypatch.setenv("UV_KEYRING_PROVIDER", "subprocess")
    code, checks = doctor(capsys, "--project", str(root))
    assert code == 0
    assert checks["keyring-provider"]["verdict"] == "ok"
    assert checks["username[private]"]["verdict"] == "ok"
    probe = checks["probe[private]"]
    assert probe["verdict"] == "ok" and "with the store's credential" in probe["detail"]
    assert probe["detail"].startswith("200 from " + server.url("private") + "/internal-lib/")
    confusion = checks["dependency-confusion"]
    assert confusion["verdict"] == "ok" and "(1 pinned)" in confusion["detail"]
    graph_audit = checks["audit"]
    assert graph_audit["verdict"] == "ok" and "2 packages over 2 indexes" in graph_audit["detail"]
    # The text form: one line per check and a summary, on stderr.
    assert main(["doctor", "--project", str(root)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "ok    username[private]: uv knows user aws" in err
    assert "ok    files:" in err  # the private-file check (issue 9) counts among the twelve
    assert err.strip().splitlines()[-1] == "doctor: 0 fail, 1 warn, 12 ok"


def test_wrong_secret_is_a_401_with_our_credential(
    tmp_path: Path,
    server: IndexServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    login(server, WRONG)
    monkeypatch.setenv("UV_INDEX_PRIVATE_USERNAME", "aws")
    code, checks = doctor(capsys, "--project", str(project(tmp_path, server)))
    assert code == 1
    probe = checks["probe[private]"]
    assert probe["verdict"] == "fail" and "wrong or expired" in probe["detail"]
    assert probe["fix"].startswith(f"idx-auth login {server.url('private')} -u USERNAME")


def test_wrong_username_in_env(
    tmp_path: Path,
    server: IndexServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    login(server)
    monkeypatch.setenv("UV_INDEX_PRIVATE_USERNAME", "alice")
    _, checks = doctor(capsys, "--project", str(project(tmp_path, server)), "--no-probe")
    username = checks["username[private]"]
    assert username["verdict"] == "fail"
    assert username["fix"].startswith("export UV_INDEX_PRIVATE_USERNAME=aws")


def test_no_credential_at_all_is_a_401(
    tmp_path: Path, server: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, checks = doctor(capsys, "--project", str(project(tmp_path, server)))
    assert code == 1
    assert checks["store"]["verdict"] == "warn"
    probe = checks["probe[private]"]
    assert probe["verdict"] == "fail" and probe["detail"].startswith("401")
    assert "idx-auth login" in probe["fix"]


@pytest.mark.parametrize(
    ("status", "verdict", "words"), [(404, "warn", "CodeArtifact"), (403, "fail", "permission")]
)
def test_root_404_and_403_with_our_credential(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    verdict: str,
    words: str,
) -> None:
    monkeypatch.setenv("UV_INDEX_PRIVATE_USERNAME", "aws")
    with serve(specs(root_status=status)) as s:
        login(s)
        _, checks = doctor(capsys, "--project", str(project(tmp_path, s)))
    probe = checks["probe[private]"]
    assert probe["verdict"] == verdict and words in probe["detail"], probe


def test_unsafe_strategy_makes_a_collision_a_failure(
    tmp_path: Path,
    server: IndexServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    login(server)
    monkeypatch.setenv("UV_INDEX_STRATEGY", "unsafe-best-match")
    code, checks = doctor(capsys, "--project", str(project(tmp_path, server)))
    assert code == 1
    assert checks["index-strategy"]["verdict"] == "warn"
    assert checks["dependency-confusion[internal-lib]"]["verdict"] == "fail"


def test_no_probe_makes_no_request(
    tmp_path: Path, server: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    login(server)
    _, checks = doctor(capsys, "--project", str(project(tmp_path, server)), "--no-probe")
    assert server.seen == []
    assert not [n for n in checks if n.startswith(("probe", "dependency-confusion"))]
    assert checks["index-strategy"]["verdict"] == "ok"


def test_keyring_provider_and_authenticate_always_from_uv_toml(
    tmp_path: Path, server: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    login(server)
    login(server, "other-secret", user="bob")
    root = tmp_path / "project"
    root.mkdir()
    (root / "uv.toml").write_text(
        f'keyring-provider = "subprocess"\n\n[[index]]\nname = "private"\n'
        f'url = "{server.url("private")}"\nauthenticate = "always"\n'
    )
    _, checks = doctor(capsys, "--project", str(root), "--no-probe")
    provider = checks["keyring-provider"]
    assert provider["verdict"] == "ok" and str(root / "uv.toml") in provider["detail"]
    username = checks["username[private]"]
    assert username["verdict"] == "fail" and "several (aws, bob)" in username["detail"]
    assert username["fix"] == "export UV_INDEX_PRIVATE_USERNAME=aws"


def test_broken_uv_settings_are_a_failed_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "uv.toml").write_text("index-strategy = 'sometimes'\n")
    code, checks = doctor(capsys, "--project", str(root))
    assert code == 1
    assert checks["uv-config"]["verdict"] == "fail"
    assert "sometimes" in checks["uv-config"]["detail"]


def test_tls_index_untrusted_then_trusted_through_ssl_cert_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    with serve(specs(), tls=ctx) as s:
        login(s)
        monkeypatch.setenv("UV_INDEX_PRIVATE_USERNAME", "aws")
        root = project(tmp_path, s)
        _, checks = doctor(capsys, "--project", str(root))
        probe = checks["probe[private]"]
        assert probe["verdict"] == "fail", probe
        assert "SSL_CERT_FILE" in probe["fix"] and "--system-certs" in probe["fix"]
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
        _, checks = doctor(capsys, "--project", str(root))
        assert checks["probe[private]"]["verdict"] == "ok"
        assert checks["probe[public]"]["verdict"] == "ok"


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--project", str(tmp_path / "nope")]) == 2
    assert "no such directory" in capsys.readouterr().err


def test_an_expired_token_in_the_store(
    tmp_path: Path, server: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime

    Vault().login(
        f"{server.base}/private", "aws", SECRET, expires_at=datetime(2001, 1, 1, tzinfo=UTC)
    )
    _, checks = doctor(capsys, "--project", str(project(tmp_path, server)), "--no-probe")
    store = checks["store"]
    assert store["verdict"] == "warn" and f"aws@{server.base}/private" in store["detail"]


def test_uvs_own_plaintext_store_is_named_as_shadowing_ours(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys

    uv = str(Path(sys.executable).parent / "uv")
    uv_dir = tmp_path / "uv-creds"
    monkeypatch.setenv("UV_CREDENTIALS_DIR", str(uv_dir))
    code, checks = doctor(capsys, "--no-probe")
    assert code == 0 and checks["uv-plaintext"]["verdict"] == "ok"
    subprocess.run(
        [uv, "auth", "login", "https://pkgs.example.com/simple/", "-u", "ci", "--password", "-"],
        input="plaintext-pw\n",
        text=True,
        check=True,
        capture_output=True,
    )
    code, checks = doctor(capsys, "--no-probe")
    found = checks["uv-plaintext"]
    assert code == 0  # a warning, not a failure
    assert found["verdict"] == "warn"
    assert "ci@https://pkgs.example.com/" in found["detail"] and "idx-auth import" in found["fix"]
    assert "plaintext-pw" not in json.dumps(checks)
