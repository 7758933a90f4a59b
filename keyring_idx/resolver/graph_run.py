"""One graph resolution with everything wired: page cache, metadata source, sdist builder.

The index client's errors become per-run failures; build requirements of a dynamic sdist are
resolved by the same machinery (same indexes, same credentials, wheels only).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName

from keyring_idx.resolver.client import IndexClient
from keyring_idx.resolver.config import Index, Settings
from keyring_idx.resolver.errors import MetadataError
from keyring_idx.resolver.graph import PageCache, resolve_graph
from keyring_idx.resolver.metadata import CoreMetadata, MetadataSource, download_file
from keyring_idx.resolver.outcome import Graph
from keyring_idx.resolver.select import Target
from keyring_idx.resolver.simple import DistFile

if TYPE_CHECKING:
    from keyring_idx.resolver.build import Wheel


def run_graph(
    requirements: Sequence[str],
    settings: Settings,
    target: Target,
    client: IndexClient,
    *,
    no_build: bool = False,
    workers: int = 8,
    fallback: Callable[[NormalizedName], Sequence[Index]] | None = None,
    pages: PageCache | None = None,
) -> Graph:
    pages = pages or PageCache(client)
    plain = MetadataSource(client, no_build=True)

    def build_env(requires: Sequence[str]) -> Sequence[Wheel]:
        # Build requirements are not the project's: no tool.uv.sources pins for them.
        unpinned = dataclasses.replace(settings, sources={})
        graph = resolve_graph(requires, unpinned, target, pages, plain.get, workers=workers)
        if graph.failures:
            raise MetadataError(
                "cannot resolve build requirements "
                + ", ".join(requires)
                + ": "
                + "; ".join(f.reason for f in graph.failures)
            )
        return [(p.index, p.file) for p in graph.pins]

    def download(index: Index, file: DistFile) -> bytes:
        return download_file(client, index, file)

    def build(index: Index, file: DistFile, data: bytes) -> CoreMetadata:
        # Only a dynamic sdist gets here: the build machinery is imported for it alone.
        from keyring_idx.resolver.build import SdistBuilder

        return SdistBuilder(build_env, download)(index, file, data)

    source = MetadataSource(client, build=build, no_build=no_build)
    return resolve_graph(
        requirements, settings, target, pages, source.get, workers=workers, fallback=fallback
    )
