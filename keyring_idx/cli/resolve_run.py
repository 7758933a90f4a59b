"""The I/O shell of ``idx-auth resolve``: read settings, build the client, print the outcome.

Imported only when the command runs (see :mod:`keyring_idx.cli.resolve`): it pulls in httpx and
the resolver.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from keyring_idx.cli.base import CliError, emit_json, say
from keyring_idx.resolver.client import IndexClient
from keyring_idx.resolver.config import CliOptions, build_settings
from keyring_idx.resolver.config_files import read_layers, read_project
from keyring_idx.resolver.credentials import CredentialSource, read_netrc
from keyring_idx.resolver.errors import ResolverError
from keyring_idx.resolver.outcome import Result
from keyring_idx.resolver.report import explain, failures, table, to_json
from keyring_idx.resolver.resolve import resolve_all
from keyring_idx.resolver.select import make_target
from keyring_idx.resolver.store_source import StoreSource
from store.http import NetworkSettings


def run(args: argparse.Namespace, store: CredentialSource | None = None) -> int:
    try:
        return _run(args, store)
    except ResolverError as exc:
        raise CliError(str(exc), exc.exit_code) from None


def _run(args: argparse.Namespace, store: CredentialSource | None) -> int:
    env = dict(os.environ)
    project_dir = Path(args.project or ".").resolve()
    if args.project and not project_dir.is_dir():
        raise CliError(f"--project {args.project}: no such directory")
    project = read_project(project_dir)
    cli = CliOptions(
        index=tuple(args.index),
        default_index=args.default_index,
        index_url=args.index_url,
        extra_index_url=tuple(args.extra_index_url),
        index_strategy=args.index_strategy,
        system_certs=args.system_certs,
        allow_insecure_host=tuple(args.allow_insecure_host),
    )
    settings = build_settings(cli, env, read_layers(project_dir, env), project.sources)
    requirements = list(args.requirements) or list(project.dependencies)
    if not requirements:
        where = project.path or project_dir
        raise CliError(f"nothing to resolve: no requirements given and none in {where}", 1)
    target = make_target(args.python_version, args.python_platform)
    netrc_data, netrc_note = read_netrc(env)
    if netrc_note:
        say(f"idx-auth: {netrc_note}")
    source = store if store is not None else StoreSource(env)
    network = NetworkSettings.from_env(env, system_certs=settings.system_certs)
    with IndexClient(
        network,
        env=env,
        store=source,
        netrc_data=netrc_data,
        insecure_hosts=settings.allow_insecure_host,
    ) as client:
        results = resolve_all(requirements, settings, target, client, workers=_workers(env))
    _print(args, results)
    problem = getattr(source, "problem", None)
    if problem:
        say(f"idx-auth: note: {problem}")
    problems = failures(results)
    for line in problems:
        say(f"idx-auth: cannot resolve {line}")
    return 1 if problems else 0


def _workers(env: dict[str, str]) -> int:
    """Pages fetched at once on a slow network (see resolve_all): uv's UV_CONCURRENT_DOWNLOADS
    caps it; 8 threads are plenty for Python, whose parsing holds the GIL anyway."""
    try:
        return max(1, min(8, int(env.get("UV_CONCURRENT_DOWNLOADS", "8"))))
    except ValueError:
        return 8


def _print(args: argparse.Namespace, results: list[Result]) -> None:
    if args.json:
        emit_json(to_json(results))
    elif args.explain:
        print(explain(results))
    else:
        print(table(results))
