"""uv's index rules as functions: which indexes a package may come from, what a status means.

Pure. Status rules, as the uv 0.13.9 binary applies them (tests/e2e checks each):
- ``first-index``: 2xx found (even an empty page), stop; 404 absent, go on; a code listed in
  the index's ``ignore-error-codes`` absent; 401/403 end the search (no later index is asked);
  anything else (400, 407, 410, 429, 5xx ...) is an error. Only the host
  ``download.pytorch.org`` ignores 403 by default (not other ``*.pytorch.org`` hosts).
- ``unsafe-*``: every index is asked; 401, 403, 407 and 511 count as absent; 404 absent;
  anything else is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit

from packaging.markers import InvalidMarker, Marker
from packaging.utils import NormalizedName

from keyring_idx.resolver.config import Index, Settings, Strategy
from keyring_idx.resolver.errors import ConfigError

Outcome = Literal["found", "absent", "stop", "error"]

_AUTH_CODES = frozenset({401, 403, 407, 511})
_IGNORE_403_HOSTS = frozenset({"download.pytorch.org"})


def classify(status: int, index: Index, strategy: Strategy) -> Outcome:
    if 200 <= status < 300:
        return "found"
    if strategy != "first-index":
        return "absent" if status == 404 or status in _AUTH_CODES else "error"
    ignored = index.ignore_error_codes
    if ignored is None and (urlsplit(index.url).hostname or "").lower() in _IGNORE_403_HOSTS:
        ignored = frozenset({403})
    if (ignored and status in ignored) or status == 404:
        return "absent"
    if status in (401, 403):
        return "stop"
    return "error"


def indexes_for(
    name: NormalizedName, settings: Settings, markers: Mapping[str, str]
) -> tuple[tuple[Index, ...], str]:
    """The indexes to search for ``name`` and why: a matching sources pin, else the search order.
    No indexes when the matching pin is a git, path, url or workspace source."""
    pins = settings.sources.get(name, ())
    for pin in pins:
        if pin.marker is not None:
            try:
                applies = Marker(pin.marker).evaluate(dict(markers))
            except InvalidMarker:
                raise ConfigError(
                    f"tool.uv.sources.{name}: marker {pin.marker!r} is not a valid marker"
                ) from None
            if not applies:
                continue
            why = f"pinned by tool.uv.sources to index {pin.index!r} (marker {pin.marker})"
        else:
            why = f"pinned by tool.uv.sources to index {pin.index!r}"
        if pin.index is None:
            # uv takes it from a git repository, a path, a URL or the workspace: no index.
            return (), f"tool.uv.sources gives it a {pin.kind} source, not an index"
        return (settings.named(pin.index, name),), why
    why = "search order" + (" (no sources pin matches the target)" if pins else "")
    return settings.search_order(), why
