"""Random and mutated store files fed to the reader: every one is refused with a StoreError or
read as exactly what the key wrote. Never a traceback, a hang or a different answer."""

from __future__ import annotations

import os
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store.dirs import Dirs
from store.errors import StoreError
from store.lookup import find
from store.model import Entry
from store.vault import Vault

Answers = dict[tuple[bool, str, str | None], tuple[object, ...]]

FUZZ = settings(
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def build(dirs: Dirs) -> bytes:
    v = Vault(dirs)
    v.login("https://h.example/api", "alice", "pw-alice")
    v.login("https://h.example/api", "bob", "pw-bob")
    v.login("https://b.example/", None, "bearer-token", "bearer")
    v.login("my app", "carol", "pw-carol", plain=True)
    v.login(
        "https://t.example/",
        "aws",
        "tok",
        expires_at=datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC),
        refresh={"provider": "command", "command": "true", "secret-client": "cs"},
    )
    return dirs.store_file.read_bytes()


def answers(dirs: Dirs) -> Answers:
    """Everything a reader would act on, opened: raises StoreError when the file is refused."""
    vault = Vault(dirs)
    doc = vault.read()
    out: Answers = {}
    for entry in doc.entries:
        cred = vault.reveal(doc, entry)
        settings_ = (
            tuple(sorted(vault.sealer(doc.header).refresh_settings(entry).items()))
            if doc.header
            else ()
        )
        out[(entry.plain, entry.service, entry.username)] = (
            cred.scheme,
            cred.secret,
            cred.expires_at,
            settings_,
        )
    # And which entry a lookup picks for every name the store knows.
    for plain, service, username in list(out):
        found = find(doc.entries, service, username)
        picked = (found.plain, found.service, found.username) if isinstance(found, Entry) else found
        out[(plain, service, username)] += (picked,)
    return out


@pytest.fixture
def original(dirs: Dirs) -> tuple[Dirs, bytes, Answers]:
    raw = build(dirs)
    return dirs, raw, answers(dirs)


def put(dirs: Dirs, raw: bytes) -> None:
    fd = os.open(dirs.store_file, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, raw)
    finally:
        os.close(fd)


def judge(dirs: Dirs, raw: bytes, expected: Answers) -> None:
    put(dirs, raw)
    try:
        got = answers(dirs)
    except StoreError as exc:
        message = str(exc)
        assert "\n" not in message and message  # one line, saying something
        for secret in ("pw-alice", "pw-bob", "bearer-token", "pw-carol", "tok", "cs"):
            assert f"'{secret}'" not in message
        return
    # Accepted: then it is exactly what the key wrote (or nothing at all, for a file that
    # holds no entries, which answers no lookup).
    assert got == expected or got == {}


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes(original: tuple[Dirs, bytes, Answers], data: bytes) -> None:
    dirs, _raw, expected = original
    judge(dirs, data, expected)


@st.composite
def byte_mutations(draw: st.DrawFn, raw: bytes) -> bytes:
    out = bytearray(raw)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "delete", "insert", "cut"]))
        at = draw(st.integers(0, max(len(out) - 1, 0)))
        if kind == "flip" and out:
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "delete" and out:
            del out[at : at + draw(st.integers(1, 16))]
        elif kind == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            del out[at:]
    return bytes(out)


@FUZZ
@given(data=st.data())
def test_mutated_bytes(original: tuple[Dirs, bytes, Answers], data: st.DataObject) -> None:
    dirs, raw, expected = original
    judge(dirs, data.draw(byte_mutations(raw)), expected)


@FUZZ
@given(data=st.data())
def test_shuffled_lines(original: tuple[Dirs, bytes, Answers], data: st.DataObject) -> None:
    dirs, raw, expected = original
    lines = raw.split(b"\n")
    kind = data.draw(st.sampled_from(["drop", "duplicate", "swap", "move"]))
    i = data.draw(st.integers(0, len(lines) - 1))
    j = data.draw(st.integers(0, len(lines) - 1))
    if kind == "drop":
        del lines[i]
    elif kind == "duplicate":
        lines.insert(j, lines[i])
    elif kind == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    else:
        lines.insert(j, lines.pop(i))
    judge(dirs, b"\n".join(lines), expected)


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=40)
    | st.datetimes(timezones=st.none() | st.just(UTC))
    | st.sampled_from(["basic", "bearer", "file", "passphrase", "command", "enc:v1:AAAA"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += _paths(v, (*prefix, i))
    return found


@FUZZ
@given(data=st.data())
def test_edited_fields(original: tuple[Dirs, bytes, Answers], data: st.DataObject) -> None:
    """A field replaced by any TOML value (or removed, or added), the file written as TOML:
    what someone who can write the data dir, but has no key, can do."""
    dirs, raw, expected = original
    doc = tomllib.loads(raw.decode())
    path = data.draw(st.sampled_from(_paths(doc)))
    parent: Any = doc
    for step in path[:-1]:
        parent = parent[step]
    action = data.draw(st.sampled_from(["replace", "remove", "add"]))
    value = data.draw(VALUES)
    if action == "remove" or value is None:
        del parent[path[-1]]
    elif action == "add" and isinstance(parent, dict):
        parent[data.draw(st.text(min_size=1, max_size=12))] = value
    else:
        parent[path[-1]] = value
    try:
        text = tomli_w.dumps(doc).encode()
    except (TypeError, ValueError):
        return  # not representable in TOML: nobody can write it
    judge(dirs, text, expected)


def test_the_original_is_accepted(original: tuple[Dirs, bytes, Answers]) -> None:
    dirs, raw, expected = original
    assert len(expected) == 5
    secret = expected[(False, "https://h.example/api", "alice")][1]
    assert secret == "pw-alice"
    judge(dirs, raw, expected)
    assert Path(dirs.store_file).read_bytes() == raw
