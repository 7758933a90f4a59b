"""``idx-auth``: the command-line entry point.

Each command group lives in its own module exposing ``register(subparsers)``; this module only
builds the parser, runs the chosen handler and turns errors into one line on stderr and an exit
code (0 ok, 1 nothing found, 2 usage or invalid input, 3 agent required but unavailable).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from keyring_idx.cli import agent, auth, refresh, resolve, setup
from keyring_idx.cli.base import CliError
from store.errors import StoreError

# Order here is the order of `idx-auth --help`.
COMMAND_GROUPS = (auth, refresh, agent, resolve, setup)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="idx-auth",
        description=(
            "Encrypted credentials for private Python package indexes, "
            "with uv's flags and URL rules."
        ),
        epilog="Exit codes: 0 success, 1 nothing found, 2 usage or invalid input, "
        "3 agent required but unreachable or locked.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except (CliError, StoreError) as exc:
        print(f"idx-auth: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("idx-auth: interrupted", file=sys.stderr)
        return 130
    return code
