"""``idx-auth doctor``: check the chain from uv to the store, step by step, with fixes."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from keyring_idx.cli.base import CliError, Sub, emit_json, say


def register(sub: Sub) -> None:
    p = sub.add_parser(
        "doctor",
        help="Check the store, the agent, keyring, uv's settings and every index; say what to fix",
        description=(
            "Check each link uv depends on to get credentials from the store: the store, the "
            "agent, the keyring command uv runs and the backend it selects, uv's "
            "keyring-provider, whether uv knows a username for each index, a live request to "
            "each index, and dependency-confusion exposure. Never prompts."
        ),
        epilog="Exit status: 0 when no check fails (warnings allowed), 1 when any check fails, "
        "2 on a usage error.",
    )
    p.add_argument("--project", metavar="DIR", help="project directory (default: current)")
    p.add_argument("--json", action="store_true", help='print {"checks": [...]} on stdout')
    p.add_argument(
        "--no-probe",
        action="store_true",
        help="make no network request (no live index probes, no dependency-confusion lookups)",
    )
    p.add_argument(
        "--keyring-timeout",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="how long the keyring command may take to say which backend it selects",
    )
    p.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    from keyring_idx.doctor.report import exit_code, lines, to_json
    from keyring_idx.doctor.run import diagnose

    project_dir = Path(args.project or ".").resolve()
    if args.project and not project_dir.is_dir():
        raise CliError(f"--project {args.project}: no such directory")
    if args.keyring_timeout <= 0:
        raise CliError("--keyring-timeout must be a positive number of seconds")
    checks = diagnose(
        project_dir, dict(os.environ), probe=not args.no_probe, keyring_timeout=args.keyring_timeout
    )
    if args.json:
        emit_json(to_json(checks))
    else:
        for line in lines(checks):
            say(line)
    return exit_code(checks)
