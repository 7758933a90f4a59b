"""Simple repository pages to file lists: PEP 691 JSON, PEP 503 HTML and flat (find-links) pages.

Pure: functions over bytes and the page URL (for resolving relative links). The Accept header
is uv's, so a server that speaks both formats answers in JSON.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from keyring_idx.resolver.errors import IndexRequestError

ACCEPT = (
    "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
)
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
_HASH_NAMES = ("sha256", "sha384", "sha512", "md5", "sha1", "sha224", "blake2b")


@dataclass(frozen=True, slots=True)
class DistFile:
    """One file a page lists. ``url`` is absolute, without fragment."""

    filename: str
    url: str
    hashes: tuple[tuple[str, str], ...] = ()
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None
    # PEP 658/714: the index serves ``<url>.metadata``; its hashes (maybe none). None: it does not.
    core_metadata: tuple[tuple[str, str], ...] | None = None
    upload_time: str | None = None  # PEP 700, JSON pages only


def _yanked(value: Any) -> tuple[bool, str | None]:
    if isinstance(value, str):
        return True, value or None
    return bool(value), None


def _json_metadata(entry: Mapping[str, Any]) -> tuple[tuple[str, str], ...] | None:
    value = entry.get("core-metadata", entry.get("data-dist-info-metadata"))
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), str(v)) for k, v in value.items()))
    return () if value is True else None


def _html_metadata(attrs: Mapping[str, str | None]) -> tuple[tuple[str, str], ...] | None:
    for key in ("data-core-metadata", "data-dist-info-metadata"):
        if key in attrs:
            value = attrs[key] or "true"
            if value.lower() == "false":
                return None
            return _hashes_from_fragment(value)
    return None


def parse_json(body: bytes, page_url: str) -> tuple[DistFile, ...]:
    try:
        doc = json.loads(body)
        raw_files = doc["files"]
        if not isinstance(raw_files, list):
            raise TypeError("files is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexRequestError(
            f"{page_url} sent a JSON page that is not PEP 691 ({exc}); check the index URL"
        ) from None
    files: list[DistFile] = []
    for entry in raw_files:
        if not isinstance(entry, Mapping):
            continue
        filename, url = entry.get("filename"), entry.get("url")
        if not isinstance(filename, str) or not isinstance(url, str):
            continue
        hashes = entry.get("hashes") or {}
        yanked, reason = _yanked(entry.get("yanked", False))
        requires_python = entry.get("requires-python")
        upload_time = entry.get("upload-time")
        files.append(
            DistFile(
                filename=filename,
                url=urldefrag(urljoin(page_url, url)).url,
                hashes=tuple(sorted((str(k), str(v)) for k, v in hashes.items())),
                requires_python=requires_python if isinstance(requires_python, str) else None,
                yanked=yanked,
                yanked_reason=reason,
                core_metadata=_json_metadata(entry),
                upload_time=upload_time if isinstance(upload_time, str) else None,
            )
        )
    return tuple(files)


# Simple pages are machine-written lists of anchors; a tag scanner is much faster than
# html.parser and handles what PEP 503 pages contain (quoted or bare attributes, entities).
_TAG = re.compile(r"<(a|base)\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r"""([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")


def _attrs(raw: str) -> dict[str, str | None]:
    attrs: dict[str, str | None] = {}
    for m in _ATTR.finditer(raw):
        name = m.group(1).lower()
        value = m.group(2) if m.group(2) is not None else m.group(3)
        if value is None:
            value = m.group(4)
        attrs.setdefault(name, html.unescape(value) if value is not None else None)
    return attrs


def _anchors(text: str) -> tuple[str | None, list[dict[str, str | None]]]:
    base: str | None = None
    anchors: list[dict[str, str | None]] = []
    for m in _TAG.finditer(text):
        attrs = _attrs(m.group(2))
        if m.group(1).lower() == "base":
            if base is None:
                base = attrs.get("href")
        else:
            anchors.append(attrs)
    return base, anchors


def _hashes_from_fragment(fragment: str) -> tuple[tuple[str, str], ...]:
    name, sep, value = fragment.partition("=")
    if sep and name in _HASH_NAMES and value:
        return ((name, value),)
    return ()


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, for an absolute path."""
    out: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        elif seg == ".":
            if last:
                out.append("")
        else:
            out.append(seg)
    return "/".join(out)


def _joiner(base: str) -> Callable[[str], str]:
    """``urljoin(base, href)`` for the hrefs of one page. Pages link hundreds of files by
    relative paths; those are joined here from the base parsed once (urljoin re-parses the
    base for every link), anything else goes to urljoin."""
    parts = urlsplit(base)
    prefix = f"{parts.scheme}://{parts.netloc}"
    directory = parts.path[: parts.path.rfind("/") + 1] or "/"
    # urljoin's own quirks (empty segments dropped, an empty href keeps the base) stay its own.
    fast = bool(parts.netloc) and "//" not in parts.path

    def join(href: str) -> str:
        if (
            not fast
            or not href
            or href.startswith(("/", "?", "#"))
            or "//" in href
            or ":" in href.split("/", 1)[0]
        ):
            return urljoin(base, href)
        path, sep, query = href.partition("?")
        return prefix + _remove_dot_segments(directory + path) + sep + query

    return join


def parse_html(body: bytes, page_url: str) -> tuple[DistFile, ...]:
    base_href, anchors = _anchors(body.decode("utf-8", errors="replace"))
    base = urljoin(page_url, base_href) if base_href else page_url
    join = _joiner(urldefrag(base).url)
    files: list[DistFile] = []
    for attrs in anchors:
        href = attrs.get("href")
        if not href:
            continue
        target, _, fragment = href.partition("#")
        url = join(target)
        filename = unquote(url.rstrip("/").rsplit("/", 1)[-1])
        if "data-yanked" in attrs:
            yanked, reason = True, attrs.get("data-yanked") or None
        else:
            yanked, reason = False, None
        files.append(
            DistFile(
                filename=filename,
                url=url,
                hashes=_hashes_from_fragment(fragment),
                requires_python=attrs.get("data-requires-python") or None,
                yanked=yanked,
                yanked_reason=reason,
                core_metadata=_html_metadata(attrs),
            )
        )
    return tuple(files)


def parse_page(content_type: str | None, body: bytes, page_url: str) -> tuple[DistFile, ...]:
    """Parse a project page in whichever format the server chose."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == JSON_TYPE or media == "application/json":
        return parse_json(body, page_url)
    return parse_html(body, page_url)
