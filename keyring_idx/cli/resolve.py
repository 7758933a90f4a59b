"""``idx-auth resolve``: which version of each requirement uv would take, from which index."""

from __future__ import annotations

import argparse

from keyring_idx.cli.base import importing
from keyring_idx.resolver.config import (
    KEYRING_PROVIDERS,
    PRERELEASES,
    RESOLUTIONS,
    STRATEGIES,
    UV_VERSION,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "resolve",
        help="Resolve requirements against uv's configured indexes, with uv's rules",
        description=(
            "Resolve requirements (default: the project's dependencies) against the indexes "
            "uv would use, with the same credentials, and show which index served each one, "
            "for the whole dependency graph (--no-deps: the requirements alone). "
            "In a project (a pyproject.toml with [project], or a workspace) as `uv lock` / "
            "`uv sync` do; otherwise, or with --pip, as `uv pip compile` does. Modelled on "
            f"uv {UV_VERSION}. -o pylock.toml writes a PEP 751 lock that uv and pip install."
        ),
    )
    p.add_argument("requirements", nargs="*", metavar="REQUIREMENT")
    p.add_argument("--project", metavar="DIR", help="project directory (default: current)")
    p.add_argument(
        "--pip", action="store_true", help="resolve as `uv pip compile`, even in a project"
    )
    p.add_argument(
        "--extra", action="append", default=[], metavar="NAME", help="include this extra"
    )
    p.add_argument("--all-extras", action="store_true", help="include every extra")
    p.add_argument(
        "--group", action="append", default=[], metavar="NAME", help="include this group"
    )
    p.add_argument("--all-groups", action="store_true", help="include every dependency group")
    p.add_argument(
        "--no-default-groups", action="store_true", help="leave out the default groups (dev)"
    )
    p.add_argument("--no-dev", action="store_true", help="leave out the dev group")
    p.add_argument(
        "--index", action="append", default=[], metavar="[NAME=]URL", help="an extra index"
    )
    p.add_argument("--default-index", metavar="URL", help="the index searched last")
    p.add_argument("--index-url", metavar="URL", help="legacy form of --default-index")
    p.add_argument(
        "--extra-index-url", action="append", default=[], metavar="URL", help="legacy --index"
    )
    p.add_argument("--index-strategy", choices=STRATEGIES)
    p.add_argument(
        "--find-links", "-f", action="append", default=[], metavar="URL|DIR", help="flat files"
    )
    p.add_argument("--keyring-provider", choices=KEYRING_PROVIDERS)
    p.add_argument("--prerelease", choices=PRERELEASES)
    p.add_argument("--resolution", choices=RESOLUTIONS)
    p.add_argument("--exclude-newer", metavar="DATE", help="only files uploaded before DATE")
    p.add_argument("--python-version", metavar="X.Y")
    p.add_argument("--python-platform", metavar="PLATFORM")
    p.add_argument(
        "--system-certs", action="store_true", help="trust the platform's certificate store"
    )
    p.add_argument(
        "--allow-insecure-host",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="skip TLS verification for this host",
    )
    p.add_argument(
        "--no-deps", action="store_true", help="resolve the requirements alone, not what they need"
    )
    p.add_argument(
        "-o", "--output", metavar="pylock.toml", help="write a PEP 751 lock of the whole graph"
    )
    p.add_argument(
        "--no-build",
        action="store_true",
        help="never build an sdist for its metadata; a dynamic sdist is an error",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    out.add_argument("--explain", action="store_true", help="every index asked, and why")
    p.set_defaults(func=cmd_resolve)


def cmd_resolve(args: argparse.Namespace) -> int:
    with importing():
        from keyring_idx.cli.resolve_run import run

    return run(args)
