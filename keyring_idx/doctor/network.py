"""Live requests for doctor: one authenticated probe per index, and, for the project's
dependencies, which index serves each name and which later index has it too.

Requests go through the resolver's :class:`IndexClient`, so credentials are found and sent
exactly as ``idx-auth resolve`` (and uv) would: eager ones first, then netrc and the store
after a 401/403/404, never to another origin.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from keyring_idx.doctor.facts import is_pypi
from keyring_idx.doctor.model import Collision, ProbeError, ProbeFacts
from keyring_idx.resolver.client import IndexClient, PageResult
from keyring_idx.resolver.config import Index, Settings, strip_userinfo
from keyring_idx.resolver.errors import (
    IndexRequestError,
    MissingCredentialsError,
    ResolverError,
)
from store.errors import StoreError

#: Asked on PyPI when the project has no dependency to ask for: its root is tens of megabytes.
PYPI_PROBE = canonicalize_name("pip")


def dependency_names(requirements: Iterable[str]) -> list[NormalizedName]:
    """Project names of ``[project] dependencies``, in order, once each; direct URL references
    and unparsable lines are left out (no index serves them)."""
    names: dict[NormalizedName, None] = {}
    for line in requirements:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.url is None:
            names.setdefault(canonicalize_name(req.name), None)
    return list(names)


def probe_target(
    index: Index, settings: Settings, names: Sequence[NormalizedName]
) -> NormalizedName | None:
    """What to ask ``index`` for: a dependency pinned to it, else (PyPI) a dependency or pip,
    else None for the index's root, which any working credential can read."""
    for name in names:
        pins = settings.sources.get(name, ())
        if index.name is not None and any(pin.index == index.name for pin in pins):
            return name
    if is_pypi(index):
        unpinned = [n for n in names if n not in settings.sources]
        return unpinned[0] if unpinned else PYPI_PROBE
    return None


def _failure(error: Exception) -> tuple[ProbeError, str]:
    message = str(error)
    if isinstance(error, MissingCredentialsError):
        return "missing-credentials", message
    if isinstance(error, IndexRequestError):
        lowered = message.lower()
        if "tls error" in lowered or "certificate" in lowered:
            return "tls", message
        if "too many redirects" in lowered:
            return "other", message
        return "connect", message
    return "setup", message


def probe(
    client: IndexClient,
    index: Index,
    label: str,
    name: NormalizedName | None,
    *,
    has_credentials: bool,
    stored_usernames: tuple[str, ...] = (),
) -> ProbeFacts:
    target: Literal["root", "project"] = "root" if name is None else "project"
    shown = strip_userinfo(index.url)
    try:
        result = client.root(index) if name is None else client.page(index, name)
    except (ResolverError, StoreError) as exc:
        error, message = _failure(exc)
        return ProbeFacts(
            label,
            shown,
            target,
            error=error,
            message=message,
            has_credentials=has_credentials,
            index_url=shown,
            stored_usernames=stored_usernames,
        )
    return ProbeFacts(
        label,
        result.url,
        target,
        status=result.status,
        credential=result.credential,
        has_credentials=has_credentials,
        index_url=shown,
        stored_usernames=stored_usernames,
    )


def _page(client: IndexClient, index: Index, name: NormalizedName) -> PageResult | None:
    try:
        return client.page(index, name)
    except (ResolverError, StoreError):
        return None


def _has(result: PageResult | None) -> bool:
    return result is not None and result.status // 100 == 2 and bool(result.files)


def _label(index: Index) -> str:
    return index.name or index.display_url


def _collision(client: IndexClient, settings: Settings, name: NormalizedName) -> Collision | None:
    order = settings.search_order()
    for position, index in enumerate(order):
        result = _page(client, index, name)
        if result is None:
            continue
        status = result.status
        if settings.strategy == "first-index" and status in (401, 403):
            return None  # uv stops here; nothing later is asked
        if status // 100 != 2:
            continue
        if not result.files:
            return None  # uv stops at any 200, even an empty page
        later = [i for i in order[position + 1 :] if _has(_page(client, i, name))]
        if not later:
            return None
        return Collision(name, _label(index), index.name, tuple(_label(i) for i in later))
    return None


def collisions(
    client: IndexClient, settings: Settings, names: Sequence[NormalizedName], workers: int = 8
) -> tuple[list[Collision], int, int]:
    """Exposed dependencies; how many unpinned ones were checked; how many are pinned.

    A dependency pinned by ``tool.uv.sources`` is asked only of its index, so it is safe."""
    pinned = [n for n in names if n in settings.sources]
    free = [n for n in names if n not in settings.sources]
    if len(settings.search_order()) < 2 or not free:
        return [], len(free), len(pinned)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(free)))) as pool:
        found = list(pool.map(lambda n: _collision(client, settings, n), free))
    return [c for c in found if c is not None], len(free), len(pinned)
