"""The loopback indexes the differential corpus shares: one server for the whole session.

Each index is a path prefix (``/<key>/simple``) on the same server, so a scenario names the
indexes it uses by key. Versions are chosen so that every index gives a different answer.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.index_server import IndexSpec, Release

R = Release
STATUS_CODES = (401, 403, 404, 407, 410, 429, 500)
OLD, NEW = "2023-05-01T00:00:00Z", "2024-06-01T00:00:00Z"


def _spec(key: str, packages: dict[str, list[Release]], **kw: Any) -> IndexSpec:
    # PEP 658 metadata files, so `uv lock` reads metadata without fetching wheels
    return IndexSpec(key, packages, metadata=True, **kw)


def corpus_specs() -> list[IndexSpec]:
    status_pkgs = {f"c{code}": [R("2.0")] for code in STATUS_CODES}
    return [
        _spec(
            "pub",
            {
                "foo": [R("1.0"), R("2.0")],
                "bar": [R("1.0"), R("1.5")],
                "baz": [R("1.0"), R("2.0"), R("3.0")],
                "qux": [R("1.0"), R("2.0")],
                "dev1": [R("1.0")],
                "lint1": [R("1.0")],
                "ex1": [R("1.0"), R("2.0")],
                "m1": [R("1.0")],
                "ws1": [R("1.0")],
                "pre1": [R("1.0"), R("2.0a1")],
                "pre2": [R("1.0"), R("2.0a1")],
                "pre3": [R("1.0"), R("1.1b1")],
                "pre4": [R("0.1a1"), R("0.2a1")],
                "rp1": [R("1.0"), R("2.0", requires_python=">=3.11,<3.12")],
                "rp2": [R("1.0"), R("2.0", requires_python="<3.11")],
                "rp3": [R("1.0"), R("2.0", requires_python=">=3.99")],
                "yk": [R("1.0"), R("1.1", yanked=True)],
                "low": [R("1.0"), R("1.5"), R("2.0")],
                "dated": [R("1.0", uploaded=OLD), R("1.5"), R("2.0", uploaded=NEW)],
                **status_pkgs,
            },
        ),
        _spec("priv", {"foo": [R("0.5")], "bar": [R("0.5")], "ws1": [R("0.5")]}),
        _spec("mem", {"foo": [R("0.7")], "m1": [R("0.7")], "ws1": [R("0.7")]}),
        _spec("other", {"foo": [R("3.0")], "bar": [R("3.0")], "baz": [R("3.5")]}),
        _spec("third", {"foo": [R("4.0")], "bar": [R("4.0")]}, format="html"),
        _spec("err", {}, status={f"c{code}": code for code in STATUS_CODES}),
        _spec(
            "flat",
            {"foo": [R("3.0"), R("1.0")], "bar": [R("1.5")], "only": [R("1.0")]},
            format="flat",
        ),
        _spec("auth", {"foo": [R("1.1")], "bar": [R("1.1")]}, auth=("u", "p")),
        _spec("auth2", {"foo": [R("1.2")]}, auth=("", "p")),
        _spec("tok", {"foo": [R("1.3")]}, auth=("tok3n", "")),
    ]
