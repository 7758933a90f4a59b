"""The fast keyring launcher's pure parts: which command lines it answers, and what it prints.

The e2e tests (tests/e2e/test_fast_keyring.py) hold its output against the real keyring's.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from keyring_idx.launcher import (
    BACKEND,
    SELECTOR,
    Lookup,
    backend_selected,
    keyringrc_path,
    parse,
    render,
)

URL = "https://h.example/simple/"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        # uv, username known / unknown
        (["get", URL, "alice"], Lookup(URL, "alice")),
        (["get", URL, "--mode", "creds"], Lookup(URL, None, "creds")),
        # pip, without and with a username
        (["--mode=creds", "--output=json", "get", URL], Lookup(URL, None, "creds", "json")),
        (["--mode=creds", "--output=json", "get", URL, "al"], Lookup(URL, "al", "creds", "json")),
        # other spellings argparse accepts the same way
        (["--output", "json", "get", URL, "alice"], Lookup(URL, "alice", "password", "json")),
        (["get", "--mode=password", URL, "alice"], Lookup(URL, "alice")),
        (["--output=plain", "get", "h.example", "bob"], Lookup("h.example", "bob")),
    ],
)
def test_lookups_the_launcher_answers(argv: list[str], expected: Lookup) -> None:
    assert parse(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--help"],
        ["--list-backends"],
        ["diagnose"],
        ["set", URL, "alice"],
        ["del", URL, "alice"],
        ["get", URL],  # password mode needs a username: keyring's usage error
        ["get"],
        ["get", URL, "alice", "extra"],
        ["get", URL, ""],  # pdm's "no username"
        ["get", "", "alice"],
        ["--mode", "creds", "get", URL, ""],
        ["-b", "keyrings.alt.file.PlaintextKeyring", "get", URL, "alice"],
        ["--keyring-backend=x", "get", URL, "alice"],
        ["-p", "/tmp", "get", URL, "alice"],
        ["--mode", "bogus", "get", URL, "alice"],
        ["--mode"],
        ["--mod", "creds", "get", URL],  # an abbreviation: argparse's business
        ["--mode", "creds", "--mode", "creds", "get", URL],
        ["--output=yaml", "get", URL, "alice"],
        ["get", URL, "--", "alice"],
        ["get", "-h.example", "alice"],
        ["Get", URL, "alice"],
    ],
)
def test_everything_else_goes_to_keyring(argv: list[str]) -> None:
    assert parse(argv) is None


def test_render_matches_keyring_formats() -> None:
    assert render(Lookup(URL, "alice"), "alice", "pw") == "pw\n"
    assert render(Lookup(URL, None, "creds"), "alice", "pw") == "alice\npw\n"
    # A bearer token: our backend hands keyring the username "".
    assert render(Lookup(URL, None, "creds"), "", "tok") == "\ntok\n"
    # With a username asked for, creds mode shows that username (as our backend does).
    assert render(Lookup(URL, "bob", "creds"), "bob", "pw") == "bob\npw\n"
    out = render(Lookup(URL, None, "creds", "json"), "alice", 'p"w\u00e9')
    assert out == json.dumps({"username": "alice", "password": 'p"w\u00e9'}) + "\n"
    assert render(Lookup(URL, "a", "password", "json"), "a", "pw") == '{"password": "pw"}\n'


def test_render_is_keyrings_own_printing() -> None:
    """The same values through keyring's CLI emitters give the same text."""
    code = (
        "import sys\n"
        "from keyring import credentials\n"
        "from keyring.cli import CommandLineTool as T\n"
        "T._emit_plain(None, credentials.SimpleCredential('al', 'p w\\\\x'))\n"
        "T._emit_json(None, credentials.SimpleCredential('al', 'p w\\\\x\u00e9'))\n"
        "T._emit_json(None, credentials.AnonymousCredential('pw'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    ours = (
        render(Lookup(URL, None, "creds"), "al", "p w\\x")
        + render(Lookup(URL, None, "creds", "json"), "al", "p w\\x\u00e9")
        + render(Lookup(URL, "a", "password", "json"), "a", "pw")
    )
    assert done.stdout == ours


@pytest.mark.parametrize(
    ("env", "config", "expected"),
    [
        ({}, None, True),  # discovery: ours outranks every usual backend
        ({"PYTHON_KEYRING_BACKEND": BACKEND}, None, True),
        ({"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"}, None, False),
        ({"PYTHON_KEYRING_BACKEND": ""}, None, False),
        # the environment wins over the file, as in keyring.core
        ({"PYTHON_KEYRING_BACKEND": BACKEND}, "[backend]\ndefault-keyring = x.Y\n", True),
        ({}, f"[backend]\ndefault-keyring = {BACKEND}\n", True),
        ({}, f"[backend]\ndefault-keyring={BACKEND}  \nkeyring-path=/x\n", True),
        ({}, "[backend]\ndefault-keyring = keyring.backends.null.Keyring\n", False),
        # what `idx-auth setup keyring` writes
        ({}, f"[backend]\ndefault-keyring = {SELECTOR}\nkeyring-path = /k/sel\n", True),
        ({}, "[other]\nx = 1\n", True),
        ({}, "", True),
        ({}, "[backend]\nkeyring-path = /x\n", False),  # keyring warns about this file
        ({}, "not an ini file", False),
    ],
)
def test_answers_only_where_keyring_would_ask_our_backend(
    env: dict[str, str], config: str | None, expected: bool
) -> None:
    assert backend_selected(env, config) is expected


def test_keyringrc_path_is_keyrings(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from keyring.core import _config_path

    assert keyringrc_path(os.environ) == str(_config_path())  # type: ignore[no-untyped-call]
    monkeypatch.setenv("XDG_CONFIG_HOME", "")
    assert keyringrc_path(os.environ) == str(_config_path())  # type: ignore[no-untyped-call]


def test_the_selector_is_what_setup_keyring_writes() -> None:
    from keyring_idx.clients import keyringrc

    assert keyringrc.SELECTOR == SELECTOR
