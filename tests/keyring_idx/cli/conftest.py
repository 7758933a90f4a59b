"""The in-process ``idx-auth`` runner shared by the CLI tests."""

from __future__ import annotations

import io
from typing import Protocol

import pytest

from keyring_idx.cli import main


class Cli(Protocol):
    def __call__(self, *argv: str, stdin: str = "") -> tuple[int, str, str]: ...


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run ``idx-auth ARGV`` in-process with ``stdin``; returns (exit code, stdout, stderr)."""

    def call(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return call
