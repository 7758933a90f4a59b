"""Core metadata of a distribution file without downloading more than needed.

In uv's order: the PEP 658/714 ``<file>.metadata`` the page advertises; for a wheel, HTTP range
requests on the zip's central directory and its ``METADATA`` member; the whole wheel when the
server ignores ranges; for an sdist, the whole archive, whose ``PKG-INFO`` is used when it is
static (Metadata-Version 2.2+ and none of the fields we need marked ``Dynamic``), else the
sdist is built (:mod:`keyring_idx.resolver.build`), unless building is switched off.

The parsing functions are pure; :class:`MetadataSource` does the I/O over the index client, so
files are fetched with the same credential rules as pages.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.parser import BytesParser
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from keyring_idx.resolver.config import Index
from keyring_idx.resolver.errors import MetadataError
from keyring_idx.resolver.once import Once
from keyring_idx.resolver.simple import DistFile

if TYPE_CHECKING:
    import zipfile

    from keyring_idx.resolver.connections import Reply

MAX_METADATA = 16 * 1024 * 1024  # a METADATA / PKG-INFO larger than this is not metadata
TAIL = 64 * 1024  # the first range asked of a wheel: its end, where the zip directory is
_NEEDED = frozenset({"requires-dist", "requires-python", "provides-extra"})


@lru_cache(maxsize=1)
def archive_errors() -> tuple[type[Exception], ...]:
    """What a broken or hostile archive makes the stdlib readers raise (a bad gzip stream is a
    zlib.error, a mangled zip header a struct.error or ValueError). A function: tarfile and
    zipfile are imported only by a run that opens an archive (PEP 658 metadata needs neither)."""
    import tarfile
    import zipfile

    return (
        OSError,
        EOFError,
        ValueError,
        struct.error,
        zlib.error,
        tarfile.TarError,
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
    )


@lru_cache(maxsize=1)
def wheel_errors() -> tuple[type[Exception], ...]:
    return (*archive_errors(), KeyError)  # KeyError: a member the zip directory names is missing


@dataclass(frozen=True, slots=True)
class CoreMetadata:
    """The fields of a distribution's core metadata the resolver uses."""

    name: NormalizedName
    version: Version
    requires_dist: tuple[str, ...]
    requires_python: str | None
    provides_extra: tuple[str, ...]
    source: str  # pep658 / range / wheel / sdist / built: for --explain


def parse_core_metadata(data: bytes, what: str, source: str) -> CoreMetadata:
    """METADATA / PKG-INFO bytes to a record; ``what`` names the file in errors."""
    if len(data) > MAX_METADATA:
        raise MetadataError(f"{what}: metadata larger than {MAX_METADATA} bytes")
    msg = BytesParser().parsebytes(data, headersonly=True)
    name, version = msg.get("Name"), msg.get("Version")
    if not isinstance(name, str) or not isinstance(version, str):
        raise MetadataError(f"{what}: metadata without Name or Version; the file is broken")
    try:
        parsed = Version(version.strip())
    except InvalidVersion:
        raise MetadataError(f"{what}: metadata version {version.strip()!r} is invalid") from None
    python = msg.get("Requires-Python")
    return CoreMetadata(
        name=canonicalize_name(name.strip()),
        version=parsed,
        requires_dist=tuple(str(r).strip() for r in msg.get_all("Requires-Dist") or ()),
        requires_python=str(python).strip() if python else None,
        provides_extra=tuple(
            canonicalize_name(str(e).strip()) for e in msg.get_all("Provides-Extra") or ()
        ),
        source=source,
    )


def is_static(data: bytes) -> bool:
    """PKG-INFO whose dependencies can be trusted without a build (PEP 643)."""
    msg = BytesParser().parsebytes(data, headersonly=True)
    try:
        version = Version(str(msg.get("Metadata-Version", "1.0")).strip())
    except InvalidVersion:
        return False
    dynamic = {str(d).strip().lower() for d in msg.get_all("Dynamic") or ()}
    return version >= Version("2.2") and not dynamic & _NEEDED


def check_hashes(data: bytes, hashes: Sequence[tuple[str, str]], what: str) -> None:
    """Every hash we can compute must match; an unknown algorithm is skipped."""
    for algo, expected in hashes:
        if algo not in hashlib.algorithms_guaranteed:
            continue
        if hashlib.new(algo, data).hexdigest() != expected.lower():
            raise MetadataError(
                f"{what}: {algo} hash does not match the index's; the file was changed or "
                "corrupted on the way"
            )


_DIST_INFO = re.compile(r"^[^/]+\.dist-info/METADATA$")


def wheel_metadata(zf: zipfile.ZipFile, what: str) -> bytes:
    names = [n for n in zf.namelist() if _DIST_INFO.match(n)]
    if len(names) != 1:
        raise MetadataError(f"{what}: expected one .dist-info/METADATA, found {len(names)}")
    info = zf.getinfo(names[0])
    if info.file_size > MAX_METADATA:
        raise MetadataError(f"{what}: METADATA larger than {MAX_METADATA} bytes")
    return zf.read(info)


def sdist_pkg_info(data: bytes, filename: str) -> bytes:
    """The top-level ``PKG-INFO`` of an sdist (tar.gz or zip), read without extracting."""
    import tarfile
    import zipfile

    try:
        if filename.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith("/PKG-INFO")]
                if names:
                    return zf.read(names[0])[:MAX_METADATA]
        else:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
                for member in tf:
                    top = member.isfile() and member.name.count("/") == 1
                    if top and member.name.endswith("/PKG-INFO"):
                        handle = tf.extractfile(member)
                        if handle is not None:
                            return handle.read(MAX_METADATA)
    except archive_errors() as exc:
        raise MetadataError(f"{filename}: not a readable sdist ({type(exc).__name__})") from None
    raise MetadataError(f"{filename}: the sdist has no PKG-INFO at its top level")


class RangeReader(io.RawIOBase):
    """A seekable file over a remote file of known size, read by ranges on demand; the zip
    module reads its directory and one member through it."""

    def __init__(self, fetch: Callable[[int, int], bytes], size: int, tail: bytes) -> None:
        self._fetch = fetch
        self._size = size
        self._pos = 0
        self._chunks: list[tuple[int, bytes]] = [(size - len(tail), tail)]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        n = min(len(buffer), self._size - self._pos)
        if n <= 0:
            return 0
        data = self._slice(self._pos, n)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _slice(self, start: int, n: int) -> bytes:
        for offset, chunk in self._chunks:
            if offset <= start and start + n <= offset + len(chunk):
                return chunk[start - offset : start - offset + n]
        end = min(self._size, start + max(n, TAIL))
        data = self._fetch(start, end)
        self._chunks.append((start, data))
        return data[:n]


class Downloader(Protocol):
    def download(self, index: Index, url: str, byte_range: str | None = None) -> Reply: ...


Builder = Callable[[Index, DistFile, bytes], CoreMetadata]


def download_file(client: Downloader, index: Index, file: DistFile) -> bytes:
    """A whole file of ``index``, its hashes checked against the page's."""
    response = client.download(index, file.url)
    if response.status != 200:
        raise MetadataError(
            f"{file.filename}: {index.display_url} answered {response.status} for the "
            "file; check the credentials for its host"
        )
    check_hashes(response.content, file.hashes, file.filename)
    return response.content


class MetadataSource:
    """Metadata per file, each fetched once per run (threads may ask for the same file)."""

    def __init__(
        self, client: Downloader, *, build: Builder | None = None, no_build: bool = False
    ) -> None:
        self._client = client
        self._build = build
        self._no_build = no_build
        self._once = Once()

    def get(self, index: Index, file: DistFile) -> CoreMetadata:
        # a failure is handed to every thread that asks, as the first one saw it
        return self._once.get(file.url, lambda: self._fetch(index, file))

    def _fetch(self, index: Index, file: DistFile) -> CoreMetadata:
        if file.core_metadata is not None:
            found = self._pep658(index, file)
            if found is not None:
                return found
        if file.filename.endswith(".whl"):
            return self._wheel(index, file)
        return self._sdist(index, file)

    def _get(self, index: Index, url: str, byte_range: str | None = None) -> Reply:
        return self._client.download(index, url, byte_range)

    def _pep658(self, index: Index, file: DistFile) -> CoreMetadata | None:
        what = file.filename + ".metadata"
        response = self._get(index, file.url + ".metadata")
        if response.status != 200:
            return None  # uv too falls back to the file itself
        check_hashes(response.content, file.core_metadata or (), what)
        return parse_core_metadata(response.content, what, "pep658")

    def _whole(self, index: Index, file: DistFile) -> bytes:
        return download_file(self._client, index, file)

    def _wheel(self, index: Index, file: DistFile) -> CoreMetadata:
        import zipfile

        what = file.filename
        response = self._get(index, file.url, f"bytes=-{TAIL}")
        total = _total(response) if response.status == 206 else None
        try:
            if total is not None:
                fetch = self._ranges(index, file, total)
                with zipfile.ZipFile(RangeReader(fetch, total, response.content)) as zf:
                    return parse_core_metadata(wheel_metadata(zf, what), what, "range")
            data = response.content if response.status == 200 else self._whole(index, file)
            check_hashes(data, file.hashes, what)
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return parse_core_metadata(wheel_metadata(zf, what), what, "wheel")
        except wheel_errors() as exc:
            raise MetadataError(f"{what}: not a readable wheel ({type(exc).__name__})") from None

    def _ranges(self, index: Index, file: DistFile, total: int) -> Callable[[int, int], bytes]:
        def fetch(start: int, end: int) -> bytes:
            response = self._get(index, file.url, f"bytes={start}-{end - 1}")
            if response.status != 206 or len(response.content) != end - start:
                raise MetadataError(
                    f"{file.filename}: the server answered a range request with "
                    f"{response.status}; cannot read the wheel's metadata"
                )
            return response.content

        return fetch

    def _sdist(self, index: Index, file: DistFile) -> CoreMetadata:
        data = self._whole(index, file)
        pkg_info = sdist_pkg_info(data, file.filename)
        if is_static(pkg_info):
            return parse_core_metadata(pkg_info, file.filename + " PKG-INFO", "sdist")
        if self._no_build or self._build is None:
            raise MetadataError(
                f"{file.filename}: the sdist's dependencies are dynamic and building is "
                "switched off (--no-build); allow building, or use a version with a wheel"
            )
        return self._build(index, file, data)


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+)")


def _total(response: Reply) -> int | None:
    m = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
    if m is None:
        return None
    start, end, total = (int(g) for g in m.groups())
    if end - start + 1 != len(response.content) or end + 1 != total:
        return None
    return total
