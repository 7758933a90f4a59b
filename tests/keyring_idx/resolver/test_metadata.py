"""Core metadata from .metadata files, wheel ranges, whole wheels and sdists (MockTransport)."""

from __future__ import annotations

import hashlib
import re

import httpx
import pytest

from demo.wheels import make_wheel
from keyring_idx.resolver.client import IndexClient
from keyring_idx.resolver.config import Index
from keyring_idx.resolver.errors import MetadataError
from keyring_idx.resolver.metadata import (
    MetadataSource,
    check_hashes,
    is_static,
    parse_core_metadata,
    sdist_pkg_info,
)
from keyring_idx.resolver.simple import DistFile, parse_html, parse_json
from store.network import NetworkSettings
from tests.e2e.dists import make_sdist
from tests.keyring_idx.resolver.handler_transport import HandlerTransport

INDEX = Index(url="https://idx.example/simple", name="idx")


def sha(data: bytes) -> tuple[tuple[str, str], ...]:
    return (("sha256", hashlib.sha256(data).hexdigest()),)


def test_parse_core_metadata() -> None:
    meta = parse_core_metadata(
        b"Metadata-Version: 2.1\nName: Foo.Bar\nVersion: 1.0\nRequires-Python: >=3.8\n"
        b"Provides-Extra: Fast\nRequires-Dist: six\nRequires-Dist: b; extra == 'fast'\n\nbody",
        "x",
        "pep658",
    )
    assert (meta.name, str(meta.version), meta.requires_python) == ("foo-bar", "1.0", ">=3.8")
    assert meta.requires_dist == ("six", "b; extra == 'fast'")
    assert meta.provides_extra == ("fast",)
    with pytest.raises(MetadataError, match="without Name or Version"):
        parse_core_metadata(b"Metadata-Version: 2.1\n", "f.whl", "wheel")
    with pytest.raises(MetadataError, match="invalid"):
        parse_core_metadata(b"Name: a\nVersion: not a version\n", "f.whl", "wheel")


def test_static_sdist_metadata() -> None:
    assert is_static(b"Metadata-Version: 2.2\nName: a\nVersion: 1\n")
    assert is_static(b"Metadata-Version: 2.4\nName: a\nVersion: 1\nDynamic: Description\n")
    assert not is_static(b"Metadata-Version: 2.2\nName: a\nVersion: 1\nDynamic: Requires-Dist\n")
    assert not is_static(b"Metadata-Version: 2.1\nName: a\nVersion: 1\n")
    data = make_sdist("a", "1.0", ["six"], static=True)
    assert b"Requires-Dist: six" in sdist_pkg_info(data, "a-1.0.tar.gz")
    with pytest.raises(MetadataError, match="not a readable sdist"):
        sdist_pkg_info(b"junk", "a-1.0.tar.gz")


def test_hashes_are_checked() -> None:
    check_hashes(b"x", sha(b"x"), "f")
    check_hashes(b"x", (("unknown-algo", "zz"),), "f")
    with pytest.raises(MetadataError, match="hash does not match"):
        check_hashes(b"x", sha(b"y"), "f")


def test_pages_advertise_core_metadata() -> None:
    (j,) = parse_json(
        b'{"files": [{"filename": "a-1-py3-none-any.whl", "url": "a.whl", '
        b'"core-metadata": {"sha256": "ab"}}]}',
        "https://i/simple/a/",
    )
    assert j.core_metadata == (("sha256", "ab"),)
    html = (
        b'<a href="a-1-py3-none-any.whl" data-dist-info-metadata="sha256=cd">a</a>'
        b'<a href="b-1-py3-none-any.whl" data-core-metadata="true">b</a>'
        b'<a href="c-1-py3-none-any.whl">c</a>'
    )
    a, b, c = parse_html(html, "https://i/simple/a/")
    assert (a.core_metadata, b.core_metadata, c.core_metadata) == ((("sha256", "cd"),), (), None)


class Server:
    """Files by URL; answers ranges when ``ranges``; records what was asked."""

    def __init__(self, files: dict[str, bytes], ranges: bool) -> None:
        self.files = files
        self.ranges = ranges
        self.seen: list[tuple[str, str | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        wanted = request.headers.get("range")
        self.seen.append((url, wanted))
        data = self.files.get(url)
        if data is None:
            return httpx.Response(404)
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", wanted or "")
        if not self.ranges or m is None:
            return httpx.Response(200, content=data)
        if m.group(1):
            start, end = int(m.group(1)), min(len(data) - 1, int(m.group(2)))
        else:
            start, end = max(0, len(data) - int(m.group(2))), len(data) - 1
        headers = {"content-range": f"bytes {start}-{end}/{len(data)}"}
        return httpx.Response(206, content=data[start : end + 1], headers=headers)


def source(server: Server, no_build: bool = False) -> MetadataSource:
    client = IndexClient(NetworkSettings(), env={}, transport=HandlerTransport(server))
    return MetadataSource(client, no_build=no_build)


BIG = {f"pkg/m{i}.py": "x = 1\n" * 2000 for i in range(40)}  # a wheel larger than one range


def wheel_file(data: bytes, **kw: object) -> DistFile:
    url = "https://idx.example/files/a-1.0-py3-none-any.whl"
    return DistFile("a-1.0-py3-none-any.whl", url, sha(data), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("ranges", [True, False])
def test_wheel_by_ranges_or_whole(ranges: bool) -> None:
    data = make_wheel("a", "1.0", requires=("six>=1",), files=BIG)
    server = Server({wheel_file(data).url: data}, ranges)
    meta = source(server).get(INDEX, wheel_file(data))
    assert meta.requires_dist == ("six>=1",)
    assert meta.source == ("range" if ranges else "wheel")
    if ranges:
        assert all(r is not None for _, r in server.seen)
        assert len(data) > 200_000 and len(server.seen) <= 3


def test_pep658_file_first_with_its_hash() -> None:
    data = make_wheel("a", "1.0", requires=("six",))
    meta_bytes = b"Metadata-Version: 2.1\nName: a\nVersion: 1.0\nRequires-Dist: six\n"
    f = wheel_file(data, core_metadata=sha(meta_bytes))
    server = Server({f.url + ".metadata": meta_bytes, f.url: data}, ranges=False)
    assert source(server).get(INDEX, f).source == "pep658"
    assert [u for u, _ in server.seen] == [f.url + ".metadata"]
    bad = wheel_file(data, core_metadata=sha(b"other"))
    with pytest.raises(MetadataError, match="hash does not match"):
        source(Server({bad.url + ".metadata": meta_bytes}, False)).get(INDEX, bad)


def test_a_tampered_whole_wheel_is_refused() -> None:
    data = make_wheel("a", "1.0")
    f = wheel_file(make_wheel("a", "1.0", requires=("evil",)))
    with pytest.raises(MetadataError, match="hash does not match"):
        source(Server({f.url: data}, ranges=False)).get(INDEX, f)


def test_sdists_static_dynamic_and_no_build() -> None:
    static = make_sdist("s", "1.0", ["six"], static=True)
    dynamic = make_sdist("d", "1.0", ["six"], static=False)
    sf = DistFile("s-1.0.tar.gz", "https://idx.example/files/s-1.0.tar.gz", sha(static))
    df = DistFile("d-1.0.tar.gz", "https://idx.example/files/d-1.0.tar.gz", sha(dynamic))
    server = Server({sf.url: static, df.url: dynamic}, ranges=False)
    assert source(server).get(INDEX, sf).requires_dist == ("six",)
    with pytest.raises(MetadataError, match="--no-build"):
        source(server, no_build=True).get(INDEX, df)


def test_files_get_the_index_credential_on_its_origin_only() -> None:
    data = make_wheel("a", "1.0")
    seen: dict[str, str | None] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[str(request.url)] = request.headers.get("authorization")
        return httpx.Response(200, content=data)

    index = Index(url="https://user:tok3n@idx.example/simple", name="idx")
    client = IndexClient(NetworkSettings(), env={}, transport=HandlerTransport(handler))
    source = MetadataSource(client)
    same = DistFile("a-1.0-py3-none-any.whl", "https://idx.example/f/a-1.0-py3-none-any.whl")
    other = DistFile("a-1.0-py3-none-any.whl", "https://cdn.example/f/a-1.0-py3-none-any.whl")
    source.get(index, same)
    source.get(index, other)
    assert seen[same.url] is not None and seen[same.url].startswith("Basic ")  # type: ignore[union-attr]
    assert seen[other.url] is None


@pytest.mark.parametrize(
    "body", [b"", b"\x1f\x8b\x08\x00garbage-after-a-gzip-header", b"PK\x03\x04" + b"\x00" * 40]
)
def test_hostile_archives_are_one_clear_error(body: bytes) -> None:
    sdist = DistFile("s-1.0.tar.gz", "https://idx.example/files/s-1.0.tar.gz", sha(body))
    zsdist = DistFile("s-1.0.zip", "https://idx.example/files/s-1.0.zip", sha(body))
    wheel = wheel_file(body)
    server = Server({sdist.url: body, zsdist.url: body, wheel.url: body}, ranges=False)
    for f in (sdist, zsdist, wheel):
        with pytest.raises(MetadataError):
            source(server).get(INDEX, f)
