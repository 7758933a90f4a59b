"""The I/O shell of ``idx-auth resolve``: read settings, build the client, print the outcome."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from keyring_idx.cli.base import CliError, emit_json, say
from keyring_idx.resolver.client import IndexClient
from keyring_idx.resolver.config import CliOptions
from keyring_idx.resolver.credentials import CredentialSource, read_netrc
from keyring_idx.resolver.errors import ResolverError
from keyring_idx.resolver.plan import Plan, plan_run
from keyring_idx.resolver.report import explain, failures, table, to_json
from keyring_idx.resolver.resolve import Result, resolve_all
from keyring_idx.resolver.select import make_target
from keyring_idx.resolver.selection import Selection
from keyring_idx.resolver.store_source import StoreSource
from keyring_idx.resolver.uv_store import UvPlaintextStore
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
    cli = CliOptions(
        index=tuple(args.index),
        default_index=args.default_index,
        index_url=args.index_url,
        extra_index_url=tuple(args.extra_index_url),
        index_strategy=args.index_strategy,
        system_certs=args.system_certs,
        allow_insecure_host=tuple(args.allow_insecure_host),
        keyring_provider=args.keyring_provider,
        prerelease=args.prerelease,
        resolution=args.resolution,
        exclude_newer=args.exclude_newer,
        find_links=tuple(args.find_links),
    )
    selection = Selection(
        extras=tuple(args.extra),
        all_extras=args.all_extras,
        groups=tuple(args.group),
        all_groups=args.all_groups,
        no_default_groups=args.no_default_groups,
        no_dev=args.no_dev,
    )
    target = make_target(args.python_version, args.python_platform)
    plan = plan_run(project_dir, env, cli, list(args.requirements), selection, target, args.pip)
    if not plan.items:
        raise CliError(f"nothing to resolve: no requirements given and none in {plan.where}", 1)
    settings = plan.settings
    netrc_data, netrc_note = read_netrc(env)
    if netrc_note:
        say(f"idx-auth: {netrc_note}")
    source = store if store is not None else StoreSource(env)
    uv_store = UvPlaintextStore(env)
    network = NetworkSettings.from_env(env, system_certs=settings.system_certs)
    with IndexClient(
        network,
        env=env,
        store=source,
        netrc_data=netrc_data,
        insecure_hosts=settings.allow_insecure_host,
        uv_store=uv_store,
        keyring_provider=settings.keyring_provider,
    ) as client:
        results = resolve_all(plan.items, settings, target, client, workers=_workers(env))
    _print(args, plan, results)
    for problem in (getattr(source, "problem", None), uv_store.problem):
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


def _print(args: argparse.Namespace, plan: Plan, results: list[Result]) -> None:
    if args.json:
        emit_json(to_json(results, plan.header))
    elif args.explain:
        print(explain(results, plan.header))
    else:
        print(table(results))
