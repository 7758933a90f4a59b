"""The I/O side of the audit: resolve the project's graph (looking outside the search order for
what uv cannot find, so such names are reported instead of ending the audit), ask every
configured index which of the graph's names it serves, then :func:`audit.find_risks`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from keyring_idx.resolver.audit import Placed, Risk, find_risks
from keyring_idx.resolver.client import IndexClient
from keyring_idx.resolver.config import Index, Settings
from keyring_idx.resolver.errors import ResolverError
from keyring_idx.resolver.graph import PageCache
from keyring_idx.resolver.graph_run import run_graph
from keyring_idx.resolver.select import Target


class AuditError(ResolverError):
    """The graph could not be resolved or an index could not be asked: no verdict."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class AuditResult:
    """An audit's risks, and how much of the graph it looked at."""

    risks: tuple[Risk, ...]
    packages: int
    indexes: int


def configured(settings: Settings) -> tuple[Index, ...]:
    """Every index uv knows of, once per URL, in uv's order; the public one last."""
    seen: dict[str, Index] = {}
    for index in (*settings.indexes, *settings.search_order()):
        seen.setdefault(index.url, index)
    public = settings.default_index()
    return (*(i for i in seen.values() if i.url != public.url), public)


def _serves(pages: PageCache, index: Index, name: NormalizedName) -> bool:
    page = pages.page(index, name)
    if 200 <= page.status < 300:
        return any(_project_of(f.filename) == name for f in page.files)
    if page.status == 404:
        return False
    raise AuditError(
        f"{index.name or index.display_url} answered {page.status} for {name}; the audit needs "
        "every index to answer (log in with `idx-auth login`, or fix the index URL)"
    )


def _project_of(filename: str) -> NormalizedName:
    return canonicalize_name(filename.split("-", 1)[0])


def audit(
    requirements: Sequence[str],
    settings: Settings,
    target: Target,
    client: IndexClient,
    *,
    no_build: bool = False,
    workers: int = 8,
) -> AuditResult:
    pages = PageCache(client)
    indexes = configured(settings)

    def fallback(name: NormalizedName) -> list[Index]:
        return [i for i in indexes if _serves(pages, i, name)]

    try:
        graph = run_graph(
            requirements,
            settings,
            target,
            client,
            no_build=no_build,
            workers=workers,
            fallback=fallback,
            pages=pages,
        )
    except ResolverError as exc:
        raise AuditError(f"cannot audit: {exc}") from None
    if graph.failures:
        reasons = "; ".join(f"{f.requirement}: {f.reason}" for f in graph.failures)
        raise AuditError(f"cannot audit: the graph does not resolve ({reasons})")
    names = [p.name for p in graph.pins]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        served = list(pool.map(lambda n: (n, [i for i in indexes if _serves(pages, i, n)]), names))
    serving: Mapping[NormalizedName, Sequence[Index]] = dict(served)
    placed = [Placed(p.name, p.version, p.index, p.required_by, p.fallback) for p in graph.pins]
    direct = {_name(r) for r in requirements} - {None}
    risks = find_risks(placed, serving, settings, {n for n in direct if n is not None})
    return AuditResult(tuple(risks), len(graph.pins), len(indexes))


def _name(text: str) -> NormalizedName | None:
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return None
