"""What every command module shares: the CLI error type and output helpers."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TypeAlias

# What `register(sub)` receives; a string so it is not subscripted at run time.
Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CliError(Exception):
    """A user-facing failure with its exit code (2 unless said otherwise)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def say(message: str) -> None:
    """A message for a person: always stderr, so stdout stays for secrets and JSON."""
    print(message, file=sys.stderr)


def emit_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
