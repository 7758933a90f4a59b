"""The command provider: output parsing (pure) and real subprocesses."""

from __future__ import annotations

import os
import shlex
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from store.refresh.errors import ProviderConfigError, TokenFetchError
from store.refresh.providers import FetchContext, fetch_token
from store.refresh.providers.command import parse_output
from store.refresh.spec import ProviderSpec

T0 = datetime(2030, 1, 1, tzinfo=UTC)
PY = shlex.quote(sys.executable)


def run(command: str, **settings: str) -> ProviderSpec:
    return ProviderSpec.build("command", {"command": command, **settings})


def test_one_line_uses_ttl() -> None:
    tok = parse_output("abc.def-123\n", T0, 60)
    assert tok.secret == "abc.def-123"
    assert tok.expires_at == T0 + timedelta(seconds=60) and tok.issued_at == T0


@pytest.mark.parametrize(
    ("text", "expires"),
    [
        ('{"token": "t", "expires_in": 90}', T0 + timedelta(seconds=90)),
        ('{"token": "t", "expires_in": "90"}', T0 + timedelta(seconds=90)),
        ('{"token": "t", "expires_at": "2030-01-01T02:00:00Z"}', T0 + timedelta(hours=2)),
        ('{"token": "t", "expires_at": "2030-01-01T03:00:00+01:00"}', T0 + timedelta(hours=2)),
        ('{"token": "t"}', T0 + timedelta(seconds=600)),
        # az account get-access-token
        (
            '{"accessToken": "t", "expiresOn": "2030-01-01 01:00:00.000000", '
            f'"expires_on": {int((T0 + timedelta(hours=1)).timestamp())}, '
            '"tokenType": "Bearer"}',
            T0 + timedelta(hours=1),
        ),
        # aws codeartifact get-authorization-token --output json
        (
            '{"authorizationToken": "t", "expiration": "2030-01-01T12:00:00+00:00"}',
            T0 + timedelta(hours=12),
        ),
    ],
)
def test_json_forms(text: str, expires: datetime) -> None:
    tok = parse_output(text, T0, 600)
    assert tok.secret == "t" and tok.expires_at == expires


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "printed nothing"),
        ("a\nb\n", "printed 2 lines"),
        ("Bearer abc", "contains spaces"),
        ("{not json", "not valid JSON"),
        ('{"expires_in": 5}', "has no token"),
        ('{"token": "t", "expires_in": -5}', "positive number"),
        ('{"token": "t", "expires_at": "soon"}', "RFC 3339"),
        ('{"token": "t", "expires_at": "2030-01-01T00:00:00"}', "RFC 3339"),
    ],
)
def test_bad_output_is_named(text: str, message: str) -> None:
    with pytest.raises(TokenFetchError, match=message) as info:
        parse_output(text, T0, 60)
    assert str(info.value).startswith("command provider: ")


def test_real_command_line_split_without_a_shell(tmp_path: Path) -> None:
    # The quotes are shlex's; `$HOME` and `;` reach the program literally: no shell ran.
    spec = run(
        f"{PY} -c 'import sys; print(sys.argv[1] + sys.argv[2])' 'tok-$HOME' ';x'", ttl="120"
    )
    tok = fetch_token(spec, FetchContext(now=T0))
    assert tok.secret == "tok-$HOME;x"
    assert tok.expires_at == T0 + timedelta(seconds=120)


def test_real_command_json(tmp_path: Path) -> None:
    script = tmp_path / "mint.py"
    script.write_text('import json; print(json.dumps({"token": "j", "expires_in": 30}))\n')
    tok = fetch_token(run(f"{PY} {shlex.quote(str(script))}"), FetchContext(now=T0))
    assert tok.secret == "j" and tok.expires_at == T0 + timedelta(seconds=30)


def test_failing_command_reports_its_status_not_its_stderr() -> None:
    # Its stderr is the provider's text: an echoing helper would put a secret there.
    spec = run(
        f'{PY} -c \'import sys; print("hint", file=sys.stderr); '
        f'print("denied: secret-s3cr3t", file=sys.stderr); sys.exit(3)\''
    )
    with pytest.raises(TokenFetchError, match=r"exited with status 3; run it by hand") as info:
        fetch_token(spec, FetchContext(now=T0))
    assert "s3cr3t" not in str(info.value)


def test_missing_program() -> None:
    with pytest.raises(TokenFetchError, match="'no-such-program-xyz' not found"):
        fetch_token(run("no-such-program-xyz --flag"), FetchContext(now=T0))


def test_timeout() -> None:
    spec = run(f"{PY} -c 'import time; time.sleep(30)'", timeout="0.5")
    with pytest.raises(TokenFetchError, match=r"did not finish within 0\.5 s"):
        fetch_token(spec, FetchContext(now=T0))


def test_stdin_is_closed_so_a_prompt_cannot_hang() -> None:
    spec = run(f"{PY} -c 'import sys; print(sys.stdin.read() or \"empty\")'")
    assert fetch_token(spec, FetchContext(now=T0)).secret == "empty"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"command": "aws 'unclosed"}, "cannot split"),
        ({"command": "   "}, "empty"),
        ({"command": "x", "ttl": "soon"}, "ttl must be a number"),
        ({"command": "x", "ttl": "0"}, "ttl must be between"),
    ],
)
def test_bad_settings(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ProviderConfigError, match=message):
        fetch_token(ProviderSpec.build("command", settings), FetchContext(now=T0))


def test_the_secret_never_reaches_the_message(tmp_path: Path) -> None:
    spec = run(f"{PY} -c 'print(\"tok-secret-1 tok-secret-2\")'")
    with pytest.raises(TokenFetchError) as info:
        fetch_token(spec, FetchContext(now=T0))
    assert "tok-secret" not in str(info.value)


def test_runs_from_the_root_not_the_callers_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = run(f"{PY} -c 'import os; print(os.getcwd())'")
    assert fetch_token(spec, FetchContext(now=T0)).secret == "/"


def test_a_relative_program_path_is_refused() -> None:
    with pytest.raises(ProviderConfigError, match="relative path"):
        fetch_token(run("./mint-token --fast"), FetchContext(now=T0))


def test_a_relative_path_entry_does_not_find_a_program_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = tmp_path / "mint-token-xyz"
    planted.write_text("#!/bin/sh\necho planted-token\n")
    planted.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", f".:{os.environ['PATH']}")
    with pytest.raises(TokenFetchError, match="not found"):
        fetch_token(run("mint-token-xyz"), FetchContext(now=T0))


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs, allowing a moment for a SIGKILL sent to land."""
    for _ in range(50):
        if not _running(pid):
            return False
        time.sleep(0.1)
    return True


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_a_timed_out_command_is_killed_with_its_children(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    script = f"sleep 60 >/dev/null 2>&1 & echo $! > {shlex.quote(str(pidfile))}; wait"
    spec = run(f"/bin/sh -c {shlex.quote(script)}", timeout="1")
    with pytest.raises(TokenFetchError, match="did not finish"):
        fetch_token(spec, FetchContext(now=T0))
    child = int(pidfile.read_text())
    try:
        assert not _alive(child), "the command's child outlived the time-out"
    finally:
        if _running(child):
            os.kill(child, signal.SIGKILL)


def test_a_child_holding_stdout_does_not_outlast_the_timeout(tmp_path: Path) -> None:
    # The command exits at once but leaves a child writing to (holding) its stdout.
    pidfile = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {shlex.quote(str(pidfile))}"
    spec = run(f"/bin/sh -c {shlex.quote(script)}", timeout="1")
    with pytest.raises(TokenFetchError, match="did not finish"):
        fetch_token(spec, FetchContext(now=T0))
    assert not _alive(int(pidfile.read_text()))


def test_output_is_capped() -> None:
    spec = run(f"{PY} -c 'import sys; sys.stdout.write(\"x\" * (20 * 1024 * 1024))'")
    with pytest.raises(TokenFetchError, match="printed more than 64 KiB"):
        fetch_token(spec, FetchContext(now=T0))
