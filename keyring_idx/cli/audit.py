"""``idx-auth audit``: dependency-confusion risks in the project's whole dependency graph."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from keyring_idx.cli.base import CliError, Sub, emit_json, importing, say


def register(sub: Sub) -> None:
    p = sub.add_parser(
        "audit",
        help="Report dependency-confusion risks in the project's dependency graph",
        description=(
            "Resolve the project's whole dependency graph with uv's rules and the store's "
            "credentials, ask every configured index which names it serves, and report each "
            "package a private index serves that could come from elsewhere: taken from "
            "another index (wrong-index), exposed by an unsafe index strategy "
            "(unsafe-strategy), or free for anyone to publish on the public index "
            "(claimable). Each risk comes with the pyproject.toml lines that fix it."
        ),
        epilog="Exit status: 0 no risk, 1 risks found, 2 error (no verdict).",
    )
    p.add_argument("--project", metavar="DIR", help="project directory (default: current)")
    p.add_argument("--json", action="store_true", help='print {"risks": [...]} on stdout')
    p.add_argument(
        "--no-build",
        action="store_true",
        help="never build an sdist for its metadata; a dynamic sdist is an error",
    )
    p.set_defaults(func=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:
    with importing():
        from keyring_idx.resolver.audit_run import audit
        from keyring_idx.resolver.client import IndexClient
        from keyring_idx.resolver.config_files import read_project
        from keyring_idx.resolver.credentials import read_netrc
        from keyring_idx.resolver.errors import ResolverError
        from keyring_idx.resolver.plan import lock_scope
        from keyring_idx.resolver.select import make_target
        from keyring_idx.resolver.store_source import StoreSource

    env = dict(os.environ)
    project_dir = Path(args.project or ".").resolve()
    if not project_dir.is_dir():
        raise CliError(f"--project {args.project}: no such directory")
    try:
        project = read_project(project_dir)
        if project.path is None:
            raise CliError(f"no pyproject.toml in {project_dir} or above; pass --project DIR")
        settings, _, requirements = lock_scope(project_dir, env, project)
        netrc_data, _ = read_netrc(env)
        with IndexClient.for_settings(
            settings, env, store=StoreSource(env), netrc_data=netrc_data
        ) as client:
            result = audit(
                list(requirements),
                settings,
                make_target(None, None),
                client,
                no_build=args.no_build,
            )
    except ResolverError as exc:
        raise CliError(str(exc), 2) from None
    if args.json:
        emit_json({"risks": [r.to_json() for r in result.risks]})
    else:
        for risk in result.risks:
            say(f"idx-auth: {risk.kind}: {risk.detail}")
            say(f"  comes from {risk.index}; should come from {risk.expected_index}; fix:")
            for line in risk.fix.splitlines():
                say(f"    {line}")
        if not result.risks:
            say(
                f"idx-auth: no dependency-confusion risk in {result.packages} packages "
                f"over {result.indexes} indexes"
            )
    return 1 if result.risks else 0
