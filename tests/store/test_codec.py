from __future__ import annotations

import tomllib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store import codec
from store.model import SCHEMES, Document, Entry, Header, KdfParams, Scheme

HEADER = Header(
    key_id="0011223344556677",
    key_source="file",
    wrapped_key="enc:v1:d3JhcA==",
    store_id="5701e1d",
    generation=3,
    mac="mac:v1:aGVhZA==",
)
LEGACY = Header(
    key_id="0011223344556677", key_source="file", wrapped_key="enc:v1:d3JhcA==", format=1
)
SALT = "c2FsdHNhbHRzYWx0c2FsdA=="


def sealed(tag: str) -> str:
    return "enc:v1:" + tag


def test_empty_document_is_written_like_uv() -> None:
    assert codec.encode(Document()).strip() == "credential = []"
    assert codec.decode("credential = []") == Document()
    assert codec.decode("") == Document()


def test_round_trip_keeps_every_field() -> None:
    doc = Document(
        header=Header(
            "k",
            "passphrase",
            "enc:v1:w",
            KdfParams(SALT, 65536, 3, 4),
            store_id="s",
            generation=7,
            mac="mac:v1:h",
        ),
        entries=(
            Entry("https://a.example/", "u", "basic", sealed("AA"), mac="mac:v1:a"),
            Entry("https://b.example/api", None, "bearer", sealed("BB"), mac="mac:v1:b"),
            Entry("https://c.example/", "only-user", "basic", None, mac="mac:v1:c"),
            Entry(
                "https://d.example/",
                "aws",
                "basic",
                sealed("CC"),
                expires_at=datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
                refresh=(("provider", "command"), ("secret-client", sealed("DD"))),
                mac="mac:v1:d",
            ),
            Entry("my app", "someone", "basic", sealed("EE"), plain=True, mac="mac:v1:e"),
        ),
    )
    assert codec.decode(codec.encode(doc)) == doc


def test_uv_schema_field_order_and_plain_entries_outside_credential() -> None:
    doc = Document(
        header=HEADER,
        entries=(
            Entry("https://a.example/", "u", "basic", sealed("AA"), mac="mac:v1:a"),
            Entry("not a url", "u", "basic", sealed("BB"), plain=True, mac="mac:v1:b"),
        ),
    )
    text = codec.encode(doc)
    data = tomllib.loads(text)
    assert list(data["credential"][0]) == ["service", "username", "scheme", "password", "mac"]
    assert [c["service"] for c in data["credential"]] == ["https://a.example/"]
    assert data["idx-auth"]["plain"][0]["service"] == "not a url"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("credential = 1", "array of tables"),
        ("[[credential]]\nscheme='basic'", "'service'"),
        ("[[credential]]\nservice='https://h/'\nscheme='digest'", "unknown scheme"),
        ("[[credential]]\nservice='https://h/'\nscheme='basic'", "needs a username"),
        (
            "[[credential]]\nservice='https://h/'\nscheme='bearer'\nusername='u'\ntoken='enc:v1:x'",
            "no username",
        ),
        ("[[credential]]\nservice='https://h/'\nscheme='bearer'", "needs a token"),
        (
            "[[credential]]\nservice='https://h/'\nusername='u'\npassword='hunter2'",
            "plaintext secret",
        ),
        (
            "[[credential]]\nservice='https://h/'\nusername='u'\npassword='enc:v1:x'",
            "header",
        ),
        ("[idx-auth]\nformat=9", "unsupported store format"),
        ("this is = = not toml", "not valid TOML"),
    ],
)
def test_invalid_documents_say_what_is_wrong(text: str, needle: str) -> None:
    with pytest.raises(codec.CodecError, match=needle):
        codec.decode(text)


def test_plaintext_secret_is_never_echoed_in_the_error() -> None:
    with pytest.raises(codec.CodecError) as info:
        codec.decode("[[credential]]\nservice='https://h/'\nusername='u'\npassword='hunter2'")
    assert "hunter2" not in str(info.value)


texts = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12)


@st.composite
def entries(draw: st.DrawFn) -> Entry:
    scheme: Scheme = draw(st.sampled_from(SCHEMES))
    plain = draw(st.booleans()) if scheme == "basic" else False
    username = None if scheme == "bearer" else draw(texts)
    secret: str | None = sealed(draw(st.text(alphabet="ABCDEFabcdef0123456789-_", min_size=4)))
    if scheme == "basic" and draw(st.booleans()):
        secret = None  # a username-only basic entry is legal
    expires = draw(
        st.none()
        | st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
        ).map(lambda d: d.replace(microsecond=0))
    )
    refresh = draw(
        st.dictionaries(st.sampled_from(["provider", "command", "ttl", "secret-x"]), texts)
    )
    return Entry(
        service=draw(texts),
        username=username,
        scheme=scheme,
        secret=secret,
        plain=plain,
        expires_at=expires,
        refresh=tuple(sorted(refresh.items())),
        mac="mac:v1:" + draw(st.text(alphabet="ABCDEFabcdef0123456789-_=", min_size=4)),
    )


@given(st.lists(entries(), max_size=8))
def test_codec_round_trips_any_entries(items: list[Entry]) -> None:
    doc = Document(header=HEADER, entries=tuple(items))
    back = codec.decode(codec.encode(doc))
    # Plain entries are written after the uv ones; order within each group is kept.
    assert back.header == doc.header
    assert [e for e in back.entries if not e.plain] == [e for e in items if not e.plain]
    assert [e for e in back.entries if e.plain] == [e for e in items if e.plain]
