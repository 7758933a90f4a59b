from __future__ import annotations

import pytest
from packaging.utils import canonicalize_name

from keyring_idx.resolver.config import Index, Settings, SourcePin
from keyring_idx.resolver.errors import ConfigError
from keyring_idx.resolver.policy import classify, indexes_for

PLAIN = Index(url="https://h/simple")
IGN401 = Index(url="https://h/", ignore_error_codes=frozenset({401}))


@pytest.mark.parametrize(
    ("status", "index", "strategy", "outcome"),
    [
        (200, PLAIN, "first-index", "found"),
        (404, PLAIN, "first-index", "absent"),
        (401, PLAIN, "first-index", "stop"),
        (403, PLAIN, "first-index", "stop"),
        (500, PLAIN, "first-index", "error"),
        (407, PLAIN, "first-index", "error"),
        (
            401,
            IGN401,
            "first-index",
            "absent",
        ),
        (403, IGN401, "first-index", "stop"),
        (
            404,
            IGN401,
            "first-index",
            "absent",
        ),
        (403, Index(url="https://download.pytorch.org/whl/cpu"), "first-index", "absent"),
        (401, Index(url="https://download.pytorch.org/whl/cpu"), "first-index", "stop"),
        # only that host: uv 0.13.9 stops on a 403 from any other *.pytorch.org
        (403, Index(url="https://other.pytorch.org/whl/cpu"), "first-index", "stop"),
        (403, Index(url="https://pytorch.org/whl/cpu"), "first-index", "stop"),
        (401, PLAIN, "unsafe-first-match", "absent"),
        (511, PLAIN, "unsafe-best-match", "absent"),
        (500, PLAIN, "unsafe-best-match", "error"),
        (
            500,
            Index(url="https://h/", ignore_error_codes=frozenset({500})),
            "unsafe-best-match",
            "error",
        ),
    ],
)
def test_classify(status: int, index: Index, strategy: str, outcome: str) -> None:
    assert classify(status, index, strategy) == outcome  # type: ignore[arg-type]


def test_pins_by_marker_else_search_order() -> None:
    a = Index(url="https://a/", name="a", explicit=True)
    b = Index(url="https://b/", name="b", explicit=True)
    d = Index(url="https://d/", name="d", default=True)
    settings = Settings(
        indexes=(a, b, d),
        sources={
            "foo": (
                SourcePin("a", "sys_platform == 'linux'"),
                SourcePin("b", "sys_platform == 'darwin'"),
            ),
            "bar": (SourcePin("missing"),),
        },
    )
    foo = canonicalize_name("foo")
    assert indexes_for(foo, settings, {"sys_platform": "linux"})[0] == (a,)
    assert indexes_for(foo, settings, {"sys_platform": "darwin"})[0] == (b,)
    order, why = indexes_for(foo, settings, {"sys_platform": "win32"})
    assert order == (d,)
    assert "no sources pin" in why
    with pytest.raises(ConfigError, match="missing"):
        indexes_for(canonicalize_name("bar"), settings, {})
