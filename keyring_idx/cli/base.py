"""What every command module shares: the CLI error type and output helpers."""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

from store.redaction import printable

# What `register(sub)` receives; a string so it is not subscripted at run time.
Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CliError(Exception):
    """A user-facing failure with its exit code (2 unless said otherwise)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def say(message: str) -> None:
    """A message for a person: always stderr, so stdout stays for secrets and JSON. Control
    characters are escaped: usernames, services and errors can come from a hostile file or
    server, and must not move the cursor, recolour the terminal or forge a line."""
    print(printable(message), file=sys.stderr)


def emit_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


@contextmanager
def importing() -> Iterator[None]:
    """Wrap a command's heavy imports: they make long-lived objects only (modules, classes,
    compiled patterns), so the cyclic collector is paused while they run and what exists after
    is frozen (moved out of its reach). Without this a short command spends a tenth of its
    time, at import and again at exit, walking objects that live until the process ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
