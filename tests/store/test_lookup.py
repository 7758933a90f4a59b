from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store import lookup, service
from store.model import Ambiguous, Entry


def basic(svc: str, user: str | None = "alice", *, plain: bool = False) -> Entry:
    return Entry(svc, user, "basic", f"enc:v1:{svc}|{user}", plain=plain)


def bearer(svc: str) -> Entry:
    return Entry(svc, None, "bearer", f"enc:v1:{svc}|token")


def hit(result: Entry | Ambiguous | None) -> Entry:
    assert isinstance(result, Entry), result
    return result


API = basic("https://h.example/api")
TEAM_A = basic("https://h.example/team-a", "bob")
TEAM_B = basic("https://h.example/team-b", "bob")
LOCAL = basic("http://127.0.0.1:8080/", "carol")
ROOT = basic("https://root.example/", "dave")
ENTRIES = [API, TEAM_A, TEAM_B, LOCAL, ROOT]


@pytest.mark.parametrize(
    "asked",
    [
        "https://h.example/api/simple/",
        "https://h.example/api/simple",
        "https://h.example/api/",
        "https://h.example/api",
        "https://h.example/api/simple/pkg/",
        "https://h.example/api/files/pkg-1.0-py3-none-any.whl",
        "HTTPS://H.EXAMPLE:443/api/simple/",
        "https://alice@h.example/api/simple/",
    ],
)
def test_index_and_request_urls_as_uv_and_pip_send_them(asked: str) -> None:
    assert hit(lookup.find(ENTRIES, asked, "alice")) is API
    assert hit(lookup.find(ENTRIES, asked, None)) is API


@pytest.mark.parametrize(
    "asked",
    [
        "https://h.example/apiary/simple/",  # not a whole path segment
        "https://h.example:8443/api/simple/",  # another port
        "https://other.example/api/simple/",
        "https://h.example/",
        "https://h.example/team-c/simple/",
        "http://127.0.0.1:8081/simple/",
        "http://127.0.0.1/simple/",
        "http://localhost:8080/simple/",  # another host name, even if it resolves the same
    ],
)
def test_other_paths_ports_and_hosts_get_nothing(asked: str) -> None:
    assert lookup.find(ENTRIES, asked, None) is None
    assert lookup.find(ENTRIES, asked, "alice") is None


def test_username_must_match() -> None:
    assert lookup.find(ENTRIES, "https://h.example/api/simple/", "bob") is None
    assert hit(lookup.find(ENTRIES, "https://h.example/team-a/simple/", "bob")) is TEAM_A
    assert hit(lookup.find(ENTRIES, "https://h.example/team-b/", "bob")) is TEAM_B


def test_longest_prefix_wins() -> None:
    deep = basic("https://h.example/api/special")
    entries = [*ENTRIES, deep]
    assert hit(lookup.find(entries, "https://h.example/api/special/simple/", None)) is deep
    assert hit(lookup.find(entries, "https://h.example/api/simple/", None)) is API


def test_ambiguous_without_username_names_the_usernames() -> None:
    entries = [basic("https://h.example/api", "alice"), basic("https://h.example/api", "bob")]
    result = lookup.find(entries, "https://h.example/api/simple/", None)
    assert result == Ambiguous("https://h.example/api/simple/", ("alice", "bob"))
    assert hit(lookup.find(entries, "https://h.example/api/simple/", "bob")) is entries[1]


def test_bearer_entry_answers_without_username() -> None:
    tok = bearer("https://pyx.example/")
    assert hit(lookup.find([tok], "https://pyx.example/simple/", None)) is tok
    assert lookup.find([tok], "https://pyx.example/simple/", "alice") is None


@pytest.mark.parametrize(
    ("asked", "user", "expected"),
    [
        ("127.0.0.1:8080", "carol", LOCAL),
        ("127.0.0.1:8080", None, LOCAL),
        ("http://127.0.0.1:8080", "carol", LOCAL),
        ("http://127.0.0.1:8080", None, LOCAL),
        ("127.0.0.1:8081", None, None),
        ("127.0.0.1", None, None),
        ("https://127.0.0.1:8080", None, None),  # another scheme
        ("http://127.0.0.1:8081", None, None),
        ("root.example", "dave", ROOT),
        ("Root.Example", None, ROOT),
        ("root.example:443", "dave", ROOT),
        ("https://root.example", "dave", ROOT),
        ("root.example:8443", "dave", None),
        ("http://root.example", "dave", None),
        ("root.example", "carol", None),
        # entries stored for a path never answer the host form
        ("h.example", "alice", None),
        ("h.example", "bob", None),
        ("h.example", None, None),
        ("https://h.example", None, None),
    ],
)
def test_host_forms(asked: str, user: str | None, expected: Entry | None) -> None:
    assert lookup.find(ENTRIES, asked, user) is expected


def test_host_form_without_username_is_ambiguous_across_users() -> None:
    other = basic("https://root.example/", "erin")
    result = lookup.find([*ENTRIES, other], "root.example", None)
    assert result == Ambiguous("root.example", ("dave", "erin"))
    assert hit(lookup.find([*ENTRIES, other], "root.example", "erin")) is other


def test_plain_names_match_exactly() -> None:
    app = basic("my app", "alice", plain=True)
    other = basic("my app", "bob", plain=True)
    assert hit(lookup.find([app], "my app", None)) is app
    assert hit(lookup.find([app, other], "my app", "bob")) is other
    assert lookup.find([app, other], "my app", None) == Ambiguous("my app", ("alice", "bob"))
    assert lookup.find([app], "My App", None) is None
    assert lookup.find([app], "my app", "carol") is None
    # a plain entry never answers a URL, and an index entry never a plain name
    assert lookup.find([basic("https://my app/", plain=True)], "https://my%20app/", None) is None
    assert lookup.find(ENTRIES, "api", None) is None


def test_plain_entry_named_like_a_host_answers_the_host_lookup_first() -> None:
    named = basic("root.example", "dave", plain=True)
    assert hit(lookup.find([*ENTRIES, named], "root.example", "dave")) is named


def test_stored_services_not_in_normal_form_are_still_found() -> None:
    odd = [
        basic("HTTPS://H.Example:443/api"),
        basic("https://0x7f.1:8080/", "x"),
        basic("https://h.example./p", "y"),
    ]
    assert hit(lookup.find(odd, "https://h.example/api/simple/", None)) is odd[0]
    # (odd[1], IPv4 shorthand, is not found: store.service.select skips stored services whose
    # text does not contain the request's host, before parsing them)


def test_ten_thousand_entries() -> None:
    many = [basic(f"https://host{i}.example/api/pypi/repo{i}", f"u{i}") for i in range(10_000)]
    target = many[7_777]
    asked = "https://host7777.example/api/pypi/repo7777/simple/"
    assert hit(lookup.find(many, asked, None)) is target
    root = basic("https://host7777.example/", "u7777")
    assert hit(lookup.find([*many, root], "host7777.example", "u7777")) is root
    assert lookup.find(many, "https://host7777.example/api/pypi/repo7778/simple/", None) is None


HOSTS = st.sampled_from(
    ["a.example", "A.example", "127.0.0.1", "0x7f.0.0.1", "localhost", "b.example", "a.example."]
)
SCHEMES = st.sampled_from(["http", "https", "HTTPS"])
PORTS = st.sampled_from(["", ":443", ":80", ":8080", ":08080"])
PATHS = st.sampled_from(["/", "/api", "/api/", "/api/simple", "/apiary", "/x/y"])
USERS = st.sampled_from(["alice", "bob", None])


@st.composite
def urls(draw: st.DrawFn) -> str:
    return draw(SCHEMES) + "://" + draw(HOSTS) + draw(PORTS) + draw(PATHS)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(urls(), USERS), max_size=8), urls(), USERS)
def test_prefilter_never_changes_uvs_answer(
    stored: list[tuple[str, str | None]], asked: str, user: str | None
) -> None:
    """find() on a URL gives what store.service.select gives over all entries."""
    entries = [basic(s, u) for s, u in stored if service.parse_stored(s) is not None]
    try:
        request = service.parse_service(asked)
    except Exception:
        return

    def key(e: Entry) -> tuple[str, str | None]:
        return e.service, e.username

    expected = service.select(entries, request, user, key)
    got = lookup.find(entries, asked, user)
    if isinstance(got, Ambiguous):
        assert got == expected
    else:
        assert got is expected
