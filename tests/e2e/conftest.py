"""Fixtures for runs against the real uv, pip and keyring binaries of this venv."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.index_server import IndexServer, serve

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed in {BIN}; run 'make venv' (it installs .[test])")
    return str(path)


def run(
    argv: list[str],
    *,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        input=stdin,
        capture_output=True,
        text=True,
        env=env if env is not None else dict(os.environ),
        timeout=timeout,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


@pytest.fixture
def uv() -> str:
    return tool("uv")


@pytest.fixture
def idx_auth() -> str:
    return tool("idx-auth")


@pytest.fixture(scope="session")
def corpus_server() -> Iterator[IndexServer]:
    """The differential corpus's indexes, served once for the whole session."""
    from tests.e2e.corpus_indexes import corpus_specs

    with serve(corpus_specs()) as server:
        yield server
