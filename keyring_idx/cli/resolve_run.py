"""The I/O shell of ``idx-auth resolve``: read settings, build the client, print the outcome.

Imported only when the command runs (see :mod:`keyring_idx.cli.resolve`): it pulls in httpx and
the resolver.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

from keyring_idx.cli.base import CliError, emit_json, say
from keyring_idx.resolver.client import IndexClient
from keyring_idx.resolver.config import CliOptions
from keyring_idx.resolver.credentials import CredentialSource, read_netrc
from keyring_idx.resolver.errors import ResolverError
from keyring_idx.resolver.outcome import Graph, Pin, Result
from keyring_idx.resolver.plan import Plan, names_of, plan_run, selected_pins
from keyring_idx.resolver.report import explain, failures, model_lines, table, to_json
from keyring_idx.resolver.resolve import resolve_all
from keyring_idx.resolver.select import Target, make_target
from keyring_idx.resolver.selection import Selection
from keyring_idx.resolver.simple import DistFile
from keyring_idx.resolver.store_source import StoreSource
from keyring_idx.resolver.uv_store import UvPlaintextStore


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
    no_deps = getattr(args, "no_deps", False)
    output = getattr(args, "output", None)
    if output and no_deps:
        raise CliError("-o/--output locks the whole graph; drop --no-deps")
    plan = plan_run(project_dir, env, cli, list(args.requirements), selection, target, args.pip)
    if not plan.items:
        raise CliError(f"nothing to resolve: no requirements given and none in {plan.where}", 1)
    settings = plan.settings
    netrc_data, netrc_note = read_netrc(env)
    if netrc_note:
        say(f"idx-auth: {netrc_note}")
    source = store if store is not None else StoreSource(env)
    uv_store = UvPlaintextStore(env)
    with IndexClient.for_settings(
        settings,
        env,
        store=source,
        netrc_data=netrc_data,
        uv_store=uv_store,
        keyring_provider=settings.keyring_provider,
    ) as client:
        if not no_deps:
            # the graph's machinery (resolvelib, metadata) only when it runs
            from keyring_idx.resolver.graph_run import run_graph

            graph = run_graph(
                plan.roots,
                settings,
                target,
                client,
                no_build=getattr(args, "no_build", False),
                workers=_workers(env),
            )
            if plan.settings.mode == "project":  # uv sync's part of the lock
                keep = names_of(plan.requirements)
                graph = dataclasses.replace(
                    graph,
                    pins=tuple(selected_pins(graph.pins, keep)),
                    skipped=tuple(s for s in graph.skipped if s.name in keep),
                )
            if output and not graph.failures:
                from keyring_idx.resolver import lock

                graph = dataclasses.replace(
                    graph, pins=tuple(lock.with_hashes(graph.pins, _digest(client)))
                )
            return _finish_graph(args, graph, target, output, source, plan, uv_store)
        results = resolve_all(plan.items, settings, target, client, workers=_workers(env))
    _print(args, plan, results)
    _notes(source, uv_store)
    problems = failures(results)
    for line in problems:
        say(f"idx-auth: cannot resolve {line}")
    return 1 if problems else 0


def _digest(client: IndexClient) -> Callable[[Pin, DistFile], str]:
    import hashlib

    from keyring_idx.resolver.metadata import download_file

    def digest(pin: Pin, file: DistFile) -> str:
        return hashlib.sha256(download_file(client, pin.index, file)).hexdigest()

    return digest


def _finish_graph(
    args: argparse.Namespace,
    graph: Graph,
    target: Target,
    output: str | None,
    source: CredentialSource,
    plan: Plan,
    uv_store: UvPlaintextStore,
) -> int:
    from keyring_idx.resolver import graph_report

    if args.json:
        emit_json({**plan.header, **graph_report.to_json(graph)})
    elif args.explain:
        print("\n".join([*model_lines(plan.header), graph_report.explain(graph)]))
    else:
        print(graph_report.table(graph))
    _notes(source, uv_store)
    for failure in graph.failures:
        say(f"idx-auth: cannot resolve {failure.requirement}: {failure.reason}")
    if graph.failures:
        if output:
            say(f"idx-auth: {output} not written: the graph did not resolve")
        return 1
    if output:
        from keyring_idx.resolver import lock

        write_lock(Path(output), lock.dumps(graph.pins, target))
        say(f"idx-auth: wrote {output} ({len(graph.pins)} packages)")
    return 0


def write_lock(path: Path, text: str) -> None:
    """Atomically: a crash leaves the old lock or the new one."""
    path = path.resolve()
    if path.is_dir():
        raise CliError(f"-o {path}: is a directory; name the lock file, e.g. pylock.toml")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CliError(f"-o {path}: cannot write ({exc.strerror}); check the directory") from None


def _workers(env: dict[str, str]) -> int:
    """Pages fetched at once on a slow network (see resolve_all): uv's UV_CONCURRENT_DOWNLOADS
    caps it; 8 threads are plenty for Python, whose parsing holds the GIL anyway."""
    try:
        return max(1, min(8, int(env.get("UV_CONCURRENT_DOWNLOADS", "8"))))
    except ValueError:
        return 8


def _notes(source: CredentialSource, uv_store: UvPlaintextStore) -> None:
    for problem in (getattr(source, "problem", None), uv_store.problem):
        if problem:
            say(f"idx-auth: note: {problem}")


def _print(args: argparse.Namespace, plan: Plan, results: list[Result]) -> None:
    if args.json:
        emit_json(to_json(results, plan.header))
    elif args.explain:
        print(explain(results, plan.header))
    else:
        print(table(results))
