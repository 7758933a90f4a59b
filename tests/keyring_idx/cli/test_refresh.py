"""``idx-auth login --provider`` and ``idx-auth refresh``, in-process, with real providers:
a loopback OAuth 2 endpoint, a real command, real botocore against a loopback CodeArtifact."""

from __future__ import annotations

import base64
import json
import shlex
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from store.dirs import Dirs
from store.vault import Vault
from tests.keyring_idx.cli.conftest import Cli
from tests.store.refresh.loopback import Loopback, Reply, Request, serve

CLIENT_SECRET = "cli-client-secret-42"


class Minter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, request: Request) -> Reply:
        self.count += 1
        if request.path == "/v1/authorization-token":  # CodeArtifact
            return Reply.json({"authorizationToken": f"ca-{self.count}", "expiration": 4102444800})
        basic = "Basic " + base64.b64encode(f"ci:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != basic:
            return Reply.json({"error": "invalid_client"}, 401)
        return Reply.json({"access_token": f"tok-{self.count}", "expires_in": 3600})


@pytest.fixture
def minter() -> Minter:
    return Minter()


@pytest.fixture
def endpoint(minter: Minter) -> Iterator[Loopback]:
    with serve(minter) as server:
        yield server


def oauth2_login(endpoint: Loopback, service: str = "https://pkgs.example/simple") -> list[str]:
    return [
        "login", service, "-u", "ci-bot", "--provider", "oauth2",
        "--token-url", f"{endpoint.url}/token", "--client-id", "ci", "--client-secret", "-",
    ]  # fmt: skip


def test_login_with_oauth2_then_token(cli: Cli, endpoint: Loopback, dirs: Dirs) -> None:
    code, out, err = cli(*oauth2_login(endpoint), stdin=CLIENT_SECRET + "\n")
    assert code == 0, err
    assert out == "" and "ci-bot@https://pkgs.example" in err and "valid until" in err
    assert CLIENT_SECRET not in dirs.store_file.read_text()
    code, out, _ = cli("token", "https://pkgs.example/simple/pkg/", "-u", "ci-bot")
    assert (code, out) == (0, "tok-1\n")


def test_login_fails_with_the_providers_error(cli: Cli, endpoint: Loopback, dirs: Dirs) -> None:
    code, out, err = cli(*oauth2_login(endpoint), stdin="wrong-secret\n")
    assert code == 2
    assert "oauth2 provider:" in err and "invalid_client" in err
    assert "wrong-secret" not in err + out
    assert not dirs.store_file.exists()


def test_login_refuses_a_secret_on_the_command_line(cli: Cli, endpoint: Loopback) -> None:
    argv = oauth2_login(endpoint)
    argv[-1] = "literal-secret"
    code, _, err = cli(*argv)
    assert code == 2 and "refusing a secret on the command line" in err


def test_login_with_a_command_and_refresh(cli: Cli, tmp_path: Path, dirs: Dirs) -> None:
    counter = tmp_path / "n"
    script = tmp_path / "mint.py"
    script.write_text(
        "import pathlib, sys\n"
        f"p = pathlib.Path({str(counter)!r})\n"
        "n = int(p.read_text()) + 1 if p.exists() else 1\n"
        "p.write_text(str(n))\n"
        "print(f'cmd-{n}')\n"
    )
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"
    code, _, err = cli(
        "login", "https://gitlab.example/api/v4/projects/1/packages/pypi/simple",
        "-u", "gitlab-ci-token", "--provider", "command", "--command", command, "--ttl", "7200",
    )  # fmt: skip
    assert code == 0, err
    # Fresh: --due has nothing to do and succeeds; a forced refresh mints the next token.
    code, _, err = cli("refresh", "--due")
    assert code == 0 and "not due" in err
    code, out, err = cli("refresh", "https://gitlab.example/api/v4/projects/1/packages/pypi")
    assert code == 0 and "refreshed gitlab-ci-token@" in err
    code, out, _ = cli("token", "https://gitlab.example/api/v4/projects/1/packages/pypi/simple/x/",
                       "-u", "gitlab-ci-token")  # fmt: skip
    assert out == "cmd-2\n"
    entry = Vault(dirs).read().entries[0]
    assert entry.expires_at is not None
    assert 7000 < (entry.expires_at - datetime.now(UTC)).total_seconds() <= 7200


def test_refresh_json_and_failures(cli: Cli, endpoint: Loopback) -> None:
    assert cli(*oauth2_login(endpoint), stdin=CLIENT_SECRET + "\n")[0] == 0
    code, out, _ = cli("refresh", "--json")
    (item,) = json.loads(out)
    assert code == 0 and item["refreshed"] and item["error"] is None
    assert item["username"] == "ci-bot" and item["provider"] == "oauth2"
    endpoint.handler = lambda request: Reply(503, b"", "text/plain")
    code, out, err = cli("refresh")
    assert code == 2 and "HTTP 503" in err and "kept the current token" in err
    code, out, _ = cli("token", "https://pkgs.example/simple", "-u", "ci-bot")
    assert out == "tok-2\n"


def test_refresh_with_nothing_to_refresh(cli: Cli) -> None:
    code, _, err = cli("refresh")
    assert code == 1 and "No entry with a token provider" in err


def test_codeartifact_login_takes_domain_from_the_url(
    cli: Cli, endpoint: Loopback, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    url = "https://corp-123456789012.d.codeartifact.us-east-1.amazonaws.com/pypi/internal/simple/"
    code, _, err = cli(
        "login", url, "--provider", "codeartifact", "--duration", "3600",
        "--endpoint-url", endpoint.url,
    )  # fmt: skip
    assert code == 0, err
    assert "aws@https://corp-123456789012.d.codeartifact" in err
    assert endpoint.requests[-1].query["duration"] == ["3600"]
    code, out, _ = cli("token", url, "-u", "aws")
    assert out == "ca-1\n"


def test_provider_usage_errors(cli: Cli) -> None:
    code, _, err = cli("login", "https://x.example", "-u", "u", "--provider", "command")
    assert code == 2 and "needs --command" in err
    code, _, err = cli("login", "https://x.example", "--provider", "oauth2")
    assert code == 2 and "needs --username" in err
    code, _, err = cli("login", "https://pypi.example/simple", "--provider", "codeartifact")
    assert code == 2 and "not a CodeArtifact index URL" in err
    code, _, err = cli(
        "login", "https://x.example", "-u", "u", "--provider", "command", "--command", "x",
        "--password", "-",
    )  # fmt: skip
    assert code == 2 and "drop --password" in err


@pytest.mark.parametrize(
    "token_url",
    ["{url}/token?client_secret=leak-42", "http://ci:leak-42@{host}/token"],
)
def test_login_refuses_a_secret_in_the_token_url(
    cli: Cli, endpoint: Loopback, dirs: Dirs, token_url: str
) -> None:
    argv = oauth2_login(endpoint)
    where = argv.index("--token-url") + 1
    argv[where] = token_url.format(url=endpoint.url, host=endpoint.url.split("://")[1])
    code, out, err = cli(*argv, stdin=CLIENT_SECRET + "\n")
    assert code == 2 and "token URL" in err and "drop it" in err
    assert "leak-42" not in err + out
    assert not dirs.store_file.exists()
    assert endpoint.requests == []
