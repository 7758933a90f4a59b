"""``token`` and ``list`` through a running agent: the same output as the full commands, with
the standard library alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from keyring_idx.cli.quick import list_row, token_args
from store.dirs import resolve_dirs
from tests.store.agent.agentproc import stop, wait_until_serving

IDX = str(Path(sys.executable).parent / "idx-auth")
URL = "https://pkgs.example.com/team/"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([URL], (URL, "__token__")),
        ([URL, "-u", "alice"], (URL, "alice")),
        (["-u", "alice", URL], (URL, "alice")),
        ([URL, "--username", "alice"], (URL, "alice")),
        ([URL, "--username=alice"], (URL, "alice")),
        ([URL, "-ualice"], (URL, "alice")),
        (["HTTP://127.0.0.1:8080/x"], ("HTTP://127.0.0.1:8080/x", "__token__")),
    ],
)
def test_token_forms_answered_here(argv: list[str], expected: tuple[str, str]) -> None:
    assert token_args(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["-h"],
        ["--help"],
        [URL, "--help"],
        ["pkgs.example.com"],  # a bare host: the full command's URL rules
        ["https://alice@pkgs.example.com/"],  # userinfo: ditto
        ["https://pkgs.example.com/a b"],
        [URL, "-u"],
        [URL, "-u", ""],
        [URL, "-u", "-x"],
        [URL, "-u", "a", "-u", "b"],
        [URL, "--user", "alice"],  # an abbreviation argparse would take
        [URL, URL],
        [URL, "--"],
        ["ftp://h/"],
    ],
)
def test_other_token_forms_go_to_the_full_command(argv: list[str]) -> None:
    assert token_args(argv) is None


def test_list_rows_are_checked() -> None:
    good = {
        "service": URL,
        "username": None,
        "scheme": "bearer",
        "kind": "index",
        "has_secret": True,
        "expires_at": "2030-01-01T00:00:00Z",
        "refresh": "command",
        "failures": 0,
    }
    assert list_row(good) == {
        "service": URL,
        "username": None,
        "scheme": "bearer",
        "kind": "index",
        "has_secret": True,
        "expires_at": "2030-01-01T00:00:00Z",
        "provider": "command",
    }
    for broken in ({**good, "kind": None}, {**good, "has_secret": "yes"}, {**good, "username": 3}):
        assert list_row(broken) is None
    assert list_row(["not", "a", "dict"]) is None


def idx(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [IDX, *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


@pytest.fixture
def stored(isolated_home: Path) -> None:
    for service, user, secret in (
        (URL, "alice", "pw-alice"),
        (URL, "__token__", "tok"),
        ("http://127.0.0.1:8080/", "bob", "pw-bob"),
    ):
        r = idx("login", service, "-u", user, "--password", "-", stdin=secret)
        assert r.returncode == 0, r.stderr
    env = {
        **os.environ,
        "KEYRING_PROPERTY_SCOPE": "all",
        "PYTHON_KEYRING_BACKEND": "keyring_idx.backend.IdxKeyring",
    }
    keyring = str(Path(sys.executable).parent / "keyring")
    r = subprocess.run(
        [keyring, "set", "myapp", "carol"], input="pw-c", env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr


@pytest.fixture
def agent(stored: None) -> Iterator[None]:
    proc = subprocess.Popen(
        [IDX, "agent"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    wait_until_serving(resolve_dirs().socket, proc)
    try:
        yield
    finally:
        stop(proc)


COMMANDS = [
    ["token", URL, "-u", "alice"],
    ["token", f"{URL}simple/pkg/"],
    ["token", "http://127.0.0.1:8080/simple/", "--username=bob"],
    ["token", URL, "-u", "nobody"],  # not found: the full command's message
    ["token", "pkgs.example.com/team", "-u", "alice"],
    ["list"],
    ["list", "--json"],
]


def test_same_output_with_and_without_the_agent(stored: None) -> None:
    without = [idx(*argv) for argv in COMMANDS]
    proc = subprocess.Popen(
        [IDX, "agent"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    wait_until_serving(resolve_dirs().socket, proc)
    try:
        with_agent = [idx(*argv) for argv in COMMANDS]
    finally:
        stop(proc)
    for argv, a, b in zip(COMMANDS, without, with_agent, strict=True):
        assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr), argv
    assert with_agent[0].stdout == "pw-alice\n" and with_agent[1].stdout == "tok\n"
    kinds = {(i["service"], i["kind"]) for i in json.loads(with_agent[-1].stdout)}
    assert ("myapp", "keyring") in kinds and (URL, "index") in kinds


PROBE = """
import sys
from keyring_idx.cli import main
code = main(sys.argv[1:])
heavy = ("argparse", "cryptography", "tomllib", "httpx", "keyring", "platformdirs", "dataclasses")
ours = ("keyring_idx.cli.auth", "keyring_idx.cli.base", "store.vault", "store.model")
print(sorted(m for m in sys.modules if m.split(".")[0] in heavy or m in ours), file=sys.stderr)
sys.exit(code)
"""


def test_the_agent_path_imports_only_the_standard_library(agent: None) -> None:
    for argv in (["token", URL, "-u", "alice"], ["list"], ["list", "--json"]):
        r = subprocess.run(
            [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=60
        )
        assert r.returncode == 0, r.stderr
        assert r.stderr.splitlines()[-1] == "[]", argv
    # Without an agent answering, the full command runs (and imports what it needs).
    r = subprocess.run(
        [sys.executable, "-c", PROBE, "token", URL, "-u", "nobody"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and "argparse" in r.stderr.splitlines()[-1]
