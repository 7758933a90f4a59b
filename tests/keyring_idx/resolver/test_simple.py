from __future__ import annotations

import json
from urllib.parse import urldefrag, urljoin

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyring_idx.resolver.errors import IndexRequestError
from keyring_idx.resolver.simple import DistFile, _joiner, parse_html, parse_json, parse_page

PAGE = "https://h/simple/foo/"


def test_html_links_hashes_yanked_requires_python_and_base() -> None:
    body = b"""<html><head><base href="https://cdn/pkgs/"></head><body>
    <a href="foo-1.0-py3-none-any.whl#sha256=abc" data-requires-python="&gt;=3.8">x</a>
    <A HREF='../foo-2.0.tar.gz' data-yanked="broken">foo-2.0.tar.gz</A>
    <a href=foo-3.0-py3-none-any.whl data-yanked>y</a>
    <a>no href</a></body></html>"""
    files = parse_html(body, PAGE)
    assert files[0] == DistFile(
        filename="foo-1.0-py3-none-any.whl",
        url="https://cdn/pkgs/foo-1.0-py3-none-any.whl",
        hashes=(("sha256", "abc"),),
        requires_python=">=3.8",
    )
    assert (files[1].url, files[1].yanked, files[1].yanked_reason) == (
        "https://cdn/foo-2.0.tar.gz",
        True,
        "broken",
    )
    assert files[2].yanked and files[2].yanked_reason is None
    assert len(files) == 3


def test_json_relative_urls_and_yanked_reasons() -> None:
    doc = {
        "meta": {"api-version": "1.0"},
        "files": [
            {
                "filename": "foo-1.0.tar.gz",
                "url": "../../files/foo-1.0.tar.gz",
                "hashes": {"sha256": "aa"},
                "requires-python": ">=3.9",
                "yanked": "bad build",
            },
            {"filename": "foo-2.0-py3-none-any.whl", "url": "https://x/f.whl", "hashes": {}},
        ],
    }
    files = parse_json(json.dumps(doc).encode(), PAGE)
    assert files[0].url == "https://h/files/foo-1.0.tar.gz"
    assert (files[0].yanked, files[0].yanked_reason, files[0].requires_python) == (
        True,
        "bad build",
        ">=3.9",
    )
    assert not files[1].yanked


def test_parse_page_dispatches_on_content_type() -> None:
    doc = json.dumps({"files": []}).encode()
    assert parse_page("application/vnd.pypi.simple.v1+json; charset=utf-8", doc, PAGE) == ()
    assert parse_page("text/html", b"<a href='a-1.0.tar.gz'>", PAGE)[0].filename == "a-1.0.tar.gz"


def test_broken_json_is_an_index_error() -> None:
    with pytest.raises(IndexRequestError, match="PEP 691"):
        parse_json(b"{}", PAGE)


_SEGMENT = st.sampled_from(
    ["..", ".", "", "a", "b.whl", "...", ".x", "%2E", "c;d", "e?f=../g", "h#i"]
)


@given(
    base=st.lists(_SEGMENT, max_size=5).map(lambda s: "https://h:8/" + "/".join(s)),
    href=st.lists(_SEGMENT, max_size=6).map("/".join),
)
def test_relative_links_join_exactly_as_urljoin(base: str, href: str) -> None:
    target = href.partition("#")[0]
    assert _joiner(urldefrag(base).url)(target) == urldefrag(urljoin(base, target)).url
