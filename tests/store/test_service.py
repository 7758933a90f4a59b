"""store.service: uv's service URL rules as tables, and the matching rules as properties."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.errors import InvalidServiceError, StoreError
from store.model import Ambiguous
from store.service import (
    ServiceUrl,
    covers,
    may_be_on_origin,
    parse_login_service,
    parse_service,
    parse_stored,
    select,
)

# --- normalisation (every row checked against uv 0.13.9 `uv auth login`) ------------------------

NORMALISED = [
    # no scheme -> https
    ("example.com", "https://example.com/"),
    ("h/path", "https://h/path"),
    ("//h/path", "https://h/path"),
    ("1.2.3.4:8080", "https://1.2.3.4:8080/"),
    ("[::1]:8080/x", "https://[::1]:8080/x"),
    # scheme and host lower-cased, path case kept
    ("HTTPS://H/A/B/", "https://h/A/B/"),
    ("HTTP://LOCALHOST/", "http://localhost/"),
    # default port dropped, others kept, leading zeros read
    ("https://h:443/a", "https://h/a"),
    ("https://h:0443/", "https://h/"),
    ("https://h:08443/", "https://h:8443/"),
    ("http://[::1]:80/x", "http://[::1]/x"),
    ("https://h:80/", "https://h:80/"),
    ("https://h:/x", "https://h/x"),
    ("https://h:0/", "https://h:0/"),
    # empty path becomes "/", trailing slash and empty segments kept
    ("https://h", "https://h/"),
    ("https://h/a/", "https://h/a/"),
    ("https://h/a//", "https://h/a//"),
    # dot segments, backslashes, tabs and newlines, surrounding blanks
    ("https://h/a/./b/../c", "https://h/a/c"),
    ("https://h/%2e/a/%2E%2e/b", "https://h/b"),
    ("https://h/a/..", "https://h/"),
    ("https://h/a/.", "https://h/a/"),
    ("https://h/.%2e/x", "https://h/x"),
    ("https://h/a%2e%2E/", "https://h/a%2e%2E/"),
    ("https://h/a\\b\\c", "https://h/a/b/c"),
    ("https:\\\\h\\x", "https://h/x"),
    ("https:h/noslash", "https://h/noslash"),
    ("https:/h", "https://h/"),
    ("https://h/a\tb\nc", "https://h/abc"),
    ("  https://h/lead ", "https://h/lead"),
    # percent-encoding: path set, existing escapes kept verbatim
    ("https://h/a b", "https://h/a%20b"),
    ("https://h/ü/€", "https://h/%C3%BC/%E2%82%AC"),
    ("https://h/a%zz/%2F/%41", "https://h/a%zz/%2F/%41"),
    ('https://h/a^b{c}`d"e<f>g|h~', "https://h/a^b%7Bc%7D%60d%22e%3Cf%3Eg|h~"),
    # query and fragment stay in the key, with their own encode sets
    ("https://h?q", "https://h/?q"),
    ("https://h#f", "https://h/#f"),
    ("https://h/a?", "https://h/a?"),
    ("https://h/a#", "https://h/a#"),
    ("https://h/a?x='y z\"<>#f`g'", "https://h/a?x=%27y%20z%22%3C%3E#f%60g'"),
    # hosts: IDNA, percent-decoding, IPv4 shorthand, IPv6 canonical form
    ("https://bücher.de/x", "https://xn--bcher-kva.de/x"),
    ("https://BÜCHER.de/", "https://xn--bcher-kva.de/"),
    ("https://faß.de/", "https://xn--fa-hia.de/"),
    ("https://\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com/", "https://example.com/"),
    ("https://XN--BCHER-KVA.de/", "https://xn--bcher-kva.de/"),
    ("https://%68%45llo/", "https://hello/"),
    ("https://h_x.com/", "https://h_x.com/"),
    ("https://a..b/", "https://a..b/"),
    ("https://h./", "https://h./"),
    ("https://1.2.3.4./", "https://1.2.3.4/"),
    ("https://1.2.3/", "https://1.2.0.3/"),
    ("https://0x/", "https://0.0.0.0/"),
    ("http://0x7f.0.0.1/", "http://127.0.0.1/"),
    ("http://2130706433:8080/", "http://127.0.0.1:8080/"),
    ("http://127.1/", "http://127.0.0.1/"),
    ("http://0177.0.0.1/", "http://127.0.0.1/"),
    ("http://[0:0::1]/", "http://[::1]/"),
    ("https://[::ffff:1.2.3.4]/", "https://[::ffff:102:304]/"),
    ("https://[2001:DB8:0:0:1:0:0:1]/", "https://[2001:db8::1:0:0:1]/"),
    ("https://[1:0:1:0:1:0:1:0]/", "https://[1:0:1:0:1:0:1:0]/"),
    # userinfo never reaches the key
    ("https://u:p@h/x", "https://h/x"),
    ("https://@h/e", "https://h/e"),
]


@pytest.mark.parametrize(("raw", "expected"), NORMALISED)
def test_normalisation(raw: str, expected: str) -> None:
    assert parse_service(raw).service == expected


LOGIN = [
    ("https://h/simple", "https://h/"),
    ("https://h/simple/", "https://h/"),
    ("https://h:8443/api/pypi/simple/", "https://h:8443/api/pypi"),
    ("Example.COM/Simple", "https://example.com/"),
    ("https://h/a/+simple", "https://h/a"),
    ("https://h/a/+SIMPLE/", "https://h/a"),
    ("https://h/a/SiMpLe", "https://h/a"),
    ("https://h/a/simple/simple", "https://h/a/simple"),
    ("https://h/a/simple?x=1", "https://h/a?x=1"),
    ("https://h/simple?x#y", "https://h/?x#y"),
    ("http://localhost:8080/simple", "http://localhost:8080/"),
    # only a last `simple` segment (one trailing slash allowed) goes; nothing else changes
    ("https://h/simple//", "https://h/simple//"),
    ("https://h/%73imple", "https://h/%73imple"),
    ("https://h/simple%2F", "https://h/simple%2F"),
    ("https://h/simplex", "https://h/simplex"),
    ("https://h/A/B/", "https://h/A/B/"),
    ("https://h/", "https://h/"),
    ("https://h/a/simple/..", "https://h/a/"),
    ("https://h./simple", "https://h./"),
]


@pytest.mark.parametrize(("raw", "expected"), LOGIN)
def test_login_drops_a_last_simple_segment(raw: str, expected: str) -> None:
    assert parse_login_service(raw).service == expected


def test_service_lookups_do_not_drop_simple() -> None:
    assert parse_service("https://h/api/simple/").service == "https://h/api/simple/"


ERRORS = [
    ("http://example.com", "HTTPS is required for non-local hosts", "https://example.com/"),
    ("http://example.com:8080/x", "HTTPS is required", "https://example.com:8080/x"),
    ("http://localhost.", "HTTPS is required", "https://localhost./"),
    ("http://127.0.0.2/", "HTTPS is required", "localhost, 127.0.0.1, [::1]"),
    ("http://[::2]/", "HTTPS is required", "https://[::2]/"),
    ("example.com:8080", "'example.com' is read as a URL scheme", "https://example.com:8080"),
    ("localhost:8080", "'localhost' is read as a URL scheme", "https://localhost:8080"),
    ("ftp://h/", "unsupported scheme 'ftp'", "use https://"),
    ("h:abc", "unsupported scheme 'h'", "use https://"),
    ("file:///tmp/x", "unsupported scheme 'file'", "use https://"),
    ("", "empty host", "https://pypi.example.com/simple"),
    ("https://", "empty host", "index URL"),
    ("https://u@/x", "empty host", "after the '@'"),
    ("https://h:65536/", "invalid port number", "1 to 65535"),
    ("https://h:443x/", "invalid port number", "1 to 65535"),
    ("https://[::1", "invalid IPv6 address", "']'"),
    ("https://[fe80::1%25eth0]/", "invalid IPv6 address", "check"),
    ("https://256.1.1.1/", "invalid IPv4 address", "check"),
    ("https://1.2.3.4.5/", "invalid IPv4 address", "check"),
    ("https://09.1.1.1/", "invalid IPv4 address", "check"),
    ("https://a.0x1/", "invalid IPv4 address", "check"),
    ("https://a b/", "invalid international domain name", "host name"),
    ("https://xn--a.de/", "invalid international domain name", "host name"),
    ("https://h%2Fx/", "invalid international domain name", "host name"),
    ("https://exa%mple.com/", "invalid international domain name", "host name"),
    ("https://h/a:b@c", "ambiguous user/pass authority", "%40"),
    ("https://user/name:pw@h/a", "ambiguous user/pass authority", "%2F"),
]


@pytest.mark.parametrize(("raw", "problem", "fix"), ERRORS)
def test_invalid_services(raw: str, problem: str, fix: str) -> None:
    with pytest.raises(InvalidServiceError) as info:
        parse_service(raw)
    message = str(info.value)
    assert problem in message
    assert fix in message
    assert "\n" not in message
    assert message.startswith("invalid service URL '")
    assert isinstance(info.value, StoreError)
    assert info.value.exit_code == 2


def test_error_names_the_input_but_never_a_password() -> None:
    for raw in ("http://alice:hunter2@example.com/x", "ftp://alice:hunter2@h/", "bob:hunter2@h:x"):
        with pytest.raises(InvalidServiceError) as info:
            parse_service(raw)
        assert "hunter2" not in str(info.value)
        assert "***@" in str(info.value)
    with pytest.raises(InvalidServiceError, match=re.escape("'http://example.com/simple'")):
        parse_service("http://example.com/simple")


@pytest.mark.parametrize(
    "raw", ["http://localhost/", "http://127.0.0.1:3141/", "http://[::1]/", "http://LocalHost/"]
)
def test_plain_http_is_allowed_for_loopback(raw: str) -> None:
    url = parse_service(raw)
    assert url.scheme == "http"
    assert url.is_loopback


# --- userinfo -------------------------------------------------------------------------------------


def test_userinfo_moves_out_of_the_key() -> None:
    url = parse_login_service("https://us%40er:p%3Aw@h/ui/simple")
    assert url.service == "https://h/ui"
    assert url.username == "us@er"
    assert url.password == "p:w"
    assert "p:w" not in repr(url)
    assert "p%3Aw" not in repr(url)
    assert url.without_userinfo() == ServiceUrl("https", "h", None, "/ui")
    assert str(url) == "https://h/ui"


@pytest.mark.parametrize(
    ("raw", "username", "password"),
    [
        ("https://u@h/", "u", None),
        ("https://u:@h/", "u", None),
        ("https://:pw@h/", None, "pw"),
        ("https://@h/", None, None),
        ("https://a@b@h/", "a@b", None),
        ("https://%C3%BC:x%20y@h/", "ü", "x y"),
    ],
)
def test_userinfo_is_split_at_the_last_at_and_decoded(
    raw: str, username: str | None, password: str | None
) -> None:
    url = parse_service(raw)
    assert (url.username, url.password, url.host) == (username, password, "h")


# --- covers -------------------------------------------------------------------------------------

COVERS = [
    ("https://h/api", "https://h/api", True),
    ("https://h/api", "https://h/api/", True),
    ("https://h/api", "https://h/api/x/y", True),
    ("https://h/api", "https://h/apiary", False),
    ("https://h/api", "https://h/api-v2", False),
    ("https://h/api", "https://h/API", False),
    ("https://h/foo/", "https://h/foo", False),
    ("https://h/foo/", "https://h/foo/", True),
    ("https://h/foo/", "https://h/foo/x", True),
    ("https://h/foo/", "https://h/foo//x", True),
    ("https://h/", "https://h/anything/at/all", True),
    ("https://h/a/b", "https://h/a", False),
    ("https://h/api", "https://h:443/api", True),
    ("https://h/api", "https://h:8443/api", False),
    ("https://h:8443/", "https://h:8443/x", True),
    ("https://h/api", "https://g/api", False),
    ("https://H/api", "https://h/api/x", True),
    ("http://localhost/api", "https://localhost/api", False),
    ("https://h/q?x=1", "https://h/q?y=2", True),
    ("https://h/q#f", "https://h/q/z", True),
]


@pytest.mark.parametrize(("stored", "request_url", "expected"), COVERS)
def test_covers(stored: str, request_url: str, expected: bool) -> None:
    assert covers(parse_service(stored), parse_service(request_url)) is expected


# --- select -------------------------------------------------------------------------------------

Entry = tuple[str, str | None, str]


def _key(entry: Entry) -> tuple[str, str | None]:
    return entry[0], entry[1]


def _pick(entries: list[Entry], url: str, username: str | None) -> str | None:
    found = select(entries, url, username, key=_key)
    if isinstance(found, Ambiguous):
        return "AMBIGUOUS"
    return None if found is None else found[2]


STORE: list[Entry] = [
    ("https://h/", "root", "root"),
    ("https://h/api", "a", "api-a"),
    ("https://h/api", "b", "api-b"),
    ("https://h/api/v2/", "a", "v2-a"),
    ("https://h/t", None, "bearer"),
    ("https://H:443/Case", "a", "case"),
    ("https://u:pw@h/ui", "a", "ui"),
    ("not a url at all:", "a", "broken"),
    ("http://example.com/", "a", "http-not-allowed"),
]

SELECT = [
    ("https://h/api", "a", "api-a"),
    ("https://h/api/x", "b", "api-b"),
    ("https://h/api/v2/x", "a", "v2-a"),
    ("https://h/api/v2", "a", "api-a"),  # /api/v2/ does not cover /api/v2
    ("https://h/apiary", "a", None),
    ("https://h/apiary", "root", "root"),
    ("https://h/api/x", "nobody", None),
    ("https://h/t/x", None, "bearer"),
    ("https://h/t", "a", None),  # a username never matches a bearer entry
    ("https://h/Case/x", "a", "case"),
    ("https://h/case", "a", None),
    ("https://h/ui", "a", "ui"),
    ("https://h:443/api", "a", "api-a"),
    ("https://h/x", None, "root"),
    ("https://h/api/v2/x", None, "v2-a"),
    ("https://a@h/api", None, "api-a"),  # the URL's username stands in for a missing one
    ("https://other/", None, None),
]


@pytest.mark.parametrize(("url", "username", "expected"), SELECT)
def test_select(url: str, username: str | None, expected: str | None) -> None:
    assert _pick(STORE, url, username) == expected


def test_ambiguous_longest_match_names_the_usernames() -> None:
    found = select(STORE, "https://h/api/x", None, key=_key)
    assert found == Ambiguous("https://h/api/x", ("a", "b"))
    assert "specify which username to use" in found.message


def test_a_bearer_entry_without_username_ties_but_has_no_name_to_show() -> None:
    # Once marked "<none>" among the names; the value now carries stored usernames only.
    entries: list[Entry] = [("https://h/a", None, "t"), ("https://h/a", "x", "p")]
    assert select(entries, "https://h/a/b", None, key=_key) == Ambiguous("https://h/a/b", ("x",))


def test_exact_key_wins_over_an_ambiguous_scan() -> None:
    entries: list[Entry] = [("https://h/q?x=1", "a", "query"), ("https://h/q", "a", "plain")]
    assert _pick(entries, "https://h/q", "a") == "plain"
    assert _pick(entries, "https://h/q?x=1", "a") == "query"
    assert _pick(entries, "https://h/q/sub", "a") == "AMBIGUOUS"


def test_exact_key_matches_unnormalised_stored_services() -> None:
    entries: list[Entry] = [("HTTPS://H:443/x/./y", None, "tok"), ("https://h/x", None, "short")]
    assert _pick(entries, "https://h/x/y", None) == "tok"


def test_repeated_key_later_entry_wins() -> None:
    entries: list[Entry] = [("https://h/a", "u", "first"), ("https://h/a/", "u", "other")]
    entries += [("https://H/a", "u", "second")]
    assert _pick(entries, "https://h/a", "u") == "second"
    assert _pick(entries, "https://h/a/b", "u") == "other"
    entries = [("https://h/a", "u", "first"), ("https://H/a", "u", "second")]
    assert _pick(entries, "https://h/a/b", "u") == "second"


def test_select_rejects_an_invalid_request_url() -> None:
    with pytest.raises(InvalidServiceError, match="HTTPS is required"):
        select(STORE, "http://example.com/api", "a", key=_key)


def test_select_accepts_a_parsed_url_and_an_empty_store() -> None:
    assert select([], "https://h/", None, key=_key) is None
    assert _pick(STORE, "https://h/api", "a") == "api-a"
    found = select(STORE, parse_service("https://h/api/v2/z"), "a", key=_key)
    assert isinstance(found, tuple) and found[2] == "v2-a"


def test_parse_stored_skips_invalid_and_drops_userinfo() -> None:
    assert parse_stored("ftp://h/") is None
    stored = parse_stored("https://u:pw@H/x")
    assert stored is not None and stored.username is None and stored.password is None
    assert stored.service == "https://h/x"


def test_select_scans_ten_thousand_entries() -> None:
    entries: list[Entry] = [
        (f"https://host{i % 100}.example/team{i}/simple", "u", f"s{i}") for i in range(10_000)
    ]
    entries.append(("https://host7.example/", "u", "host-root"))
    select(entries, "https://host7.example/", "u", key=_key)  # warm the parse cache
    started = time.perf_counter()
    assert _pick(entries, "https://host7.example/team7/simple/pkg/", "u") == "s7"
    assert _pick(entries, "https://host7.example/elsewhere", "u") == "host-root"
    elapsed = time.perf_counter() - started
    print(f"two lookups over {len(entries)} entries: {elapsed * 1000:.1f} ms")  # not asserted


# --- properties ---------------------------------------------------------------------------------

_seg = st.text(alphabet="abAB09-_.~%", min_size=0, max_size=4).filter(
    lambda s: s.lower() not in {".", "..", "%2e", ".%2e", "%2e.", "%2e%2e"}
)
_paths = st.lists(_seg, min_size=0, max_size=4).map(lambda parts: "/" + "/".join(parts))
_origins = st.sampled_from(
    ["https://h", "https://h:8443", "https://g", "http://localhost", "http://localhost:81"]
)
_urlish = st.text(
    alphabet=st.sampled_from(list("aAzZ09.-_~:/\\?#@%[]! \t\"<>`{}^|'ü€ß")) | st.characters(),
    max_size=30,
)


def _segment_prefix(prefix: str, path: str) -> bool:
    return path == prefix or path.startswith(prefix if prefix.endswith("/") else prefix + "/")


@given(_origins, _paths)
def test_covers_is_reflexive(origin: str, path: str) -> None:
    url = parse_service(origin + path)
    assert covers(url, url)


@given(_origins, _paths, _origins, _paths)
def test_covers_is_whole_segment_prefix(o1: str, p1: str, o2: str, p2: str) -> None:
    stored, request = parse_service(o1 + p1), parse_service(o2 + p2)
    same_origin = parse_service(o1).service == parse_service(o2).service
    expected = same_origin and _segment_prefix(stored.path, request.path)
    assert covers(stored, request) is expected


@given(_origins, _paths, _seg.filter(lambda s: s != ""), _paths)
def test_covers_extends_by_segments_only(origin: str, path: str, extra: str, tail: str) -> None:
    stored = parse_service(origin + path)
    below = path if path.endswith("/") else path + "/"
    assert covers(stored, parse_service(origin + below + extra + tail))
    glued = parse_service(origin + path + extra)
    assert covers(stored, glued) is path.endswith("/")


@given(_urlish)
def test_normalisation_is_idempotent(raw: str) -> None:
    try:
        url = parse_service(raw)
    except InvalidServiceError:
        return
    again = parse_service(url.service)
    assert again == url.without_userinfo()
    assert again.service == url.service


@given(_urlish)
def test_parse_either_succeeds_or_raises_invalid_service(raw: str) -> None:
    try:
        url = parse_service(raw)
    except InvalidServiceError as exc:
        assert "\n" not in str(exc)
        return
    assert url.path.startswith("/")
    assert url.scheme in ("https", "http")
    assert "@" not in url.service.split("/")[2]


@given(_urlish)
def test_login_drops_at_most_a_final_simple_segment(raw: str) -> None:
    try:
        base = parse_service(raw)
        url = parse_login_service(raw)
    except InvalidServiceError:
        return
    assert url == ServiceUrl(
        base.scheme,
        base.host,
        base.port,
        url.path,
        base.username,
        base.password,
        base.query,
        base.fragment,
    )
    if url.path == base.path:
        return
    removed = base.path[len(url.path.rstrip("/")) :]
    assert base.path.startswith(url.path.rstrip("/"))
    assert removed.strip("/").lower() in ("simple", "+simple")
    assert removed in ("/" + removed.strip("/"), "/" + removed.strip("/") + "/")


_entries = st.lists(
    st.tuples(
        st.builds(lambda o, p: o + p, _origins, _paths),
        st.sampled_from(["x", "y", None]),
    ),
    max_size=8,
).map(lambda pairs: [(s, u, f"secret{i}") for i, (s, u) in enumerate(pairs)])


def _reference(entries: list[Entry], url: str, username: str | None) -> str | None:
    """The lookup spelled out the slow way, for comparison."""
    request = parse_service(url)
    by_key: dict[tuple[str, str | None], Entry] = {}
    for entry in entries:
        by_key[(parse_service(entry[0]).service, entry[1])] = entry
    if (request.service, username) in by_key:
        return by_key[(request.service, username)][2]
    candidates = [
        (len(parse_service(s).path), e)
        for (s, u), e in by_key.items()
        if covers(parse_service(s), request) and (username is None or u == username)
    ]
    if not candidates:
        return None
    longest = max(length for length, _ in candidates)
    best = [e for length, e in candidates if length == longest]
    if len(best) > 1:
        return "AMBIGUOUS"
    return best[0][2]


def _outcome(entries: list[Entry], url: str, username: str | None) -> str | None:
    return _pick(entries, url, username)


@given(_entries, _origins, _paths, st.sampled_from(["x", "y", None]), st.randoms())
def test_select_matches_reference_in_any_order(
    entries: list[Entry], origin: str, path: str, username: str | None, rnd: object
) -> None:
    import random

    assert isinstance(rnd, random.Random)
    url = origin + path
    expected = _reference(entries, url, username)
    assert _outcome(entries, url, username) == expected
    shuffled = entries[:]
    rnd.shuffle(shuffled)
    # Order matters only for repeated keys (later wins); otherwise the answer is the same.
    keys = [(parse_service(s).service, u) for s, u, _ in entries]
    if len(set(keys)) == len(keys):
        assert _outcome(shuffled, url, username) == expected


@given(_origins, _paths, st.lists(_seg, min_size=1, max_size=3), st.randoms())
def test_longest_stored_path_wins_regardless_of_order(
    origin: str, path: str, extra: list[str], rnd: object
) -> None:
    import random

    assert isinstance(rnd, random.Random)
    request = origin + path.rstrip("/") + "/" + "/".join(extra) + "/z"
    prefixes = []
    current = path.rstrip("/")
    prefixes.append(current or "/")
    for part in extra:
        current += "/" + part
        prefixes.append(current)
    entries: list[Entry] = [(origin + p, "u", p) for p in dict.fromkeys(prefixes)]
    rnd.shuffle(entries)
    longest = max(entries, key=lambda e: len(parse_service(e[0]).path))
    assert _pick(entries, request, None) == longest[2]


@pytest.mark.parametrize(
    ("stored", "request_url"),
    [
        ("https://0x7f.1:8080/", "https://127.0.0.1:8080/simple/"),
        ("https://127.1/", "https://127.0.0.1/x"),
        ("https://EXAMPLE.com/", "https://example.com/simple/"),
        ("https://example.com:443/api", "https://example.com/api/x"),
        ("https://u@example.com/", "https://example.com/"),
        ("https://b%C3%BCcher.example/", "https://xn--bcher-kva.example/"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ("https://example.com./", "https://example.com./"),
    ],
)
def test_select_finds_entries_stored_in_any_spelling(stored: str, request_url: str) -> None:
    # The text pre-check that skips other hosts must never hide a stored spelling of this one.
    entries = [("https://other.example/", "u"), (stored, "u")]
    assert select(entries, request_url, "u", key=lambda e: e) == (stored, "u")


_SPELLINGS = st.sampled_from(
    [
        "https://h.example/",
        "https://H.Example/api",
        "https://h.example:443/",
        "https://h.example:8443/x/",
        "http://127.0.0.1:8080/",
        "http://127.1:8080/",
        "http://0x7f.0.0.1:8080/a",
        "http://localhost/",
        "http://LOCALHOST:80/",
        "https://u@h.example/",
        "https://xn--bcher-kva.example/",
        "https://bücher.example/",
        "https://other.example/",
    ]
)


@given(stored=_SPELLINGS, request_url=_SPELLINGS)
def test_origin_precheck_never_rejects_a_covering_entry(stored: str, request_url: str) -> None:
    parsed, request = parse_service(stored), parse_service(request_url)
    same_origin = (parsed.scheme, parsed.host, parsed.port) == (
        request.scheme,
        request.host,
        request.port,
    )
    if same_origin:
        assert may_be_on_origin(stored, request.scheme, request.host, request.port)
        assert may_be_on_origin(stored, None, request.host, request.port or None)


def test_one_meaning_of_loopback_and_of_an_origin() -> None:
    from store.service import is_loopback_host, origin

    assert all(is_loopback_host(h) for h in ("localhost", "LocalHost", "127.0.0.1", "127.1"))
    assert is_loopback_host("::1") and is_loopback_host("[::1]")
    assert not any(is_loopback_host(h) for h in ("127.0.0.2", "example.com", "", "a/b", "[::2]"))
    assert origin("https://H.Example:443/x?q") == ("https", "h.example", 443)
    assert origin("http://127.1:8080/") == ("http", "127.0.0.1", 8080)
    assert origin("ftp://h/") is None and origin("https://[oops/") is None
