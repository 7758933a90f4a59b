from __future__ import annotations

import json

import pytest

from store.agent import protocol as p

REQUESTS: list[p.Request] = [
    p.Get("https://h/simple/", "alice"),
    p.Get("https://h/simple/"),
    p.ListEntries(),
    p.Status(),
    p.Login("https://h/", "alice", "basic", "pw"),
    p.Login("https://h/", None, "bearer", "tok"),
    p.Logout("https://h/", "alice"),
    p.Refresh(),
    p.Refresh("https://h/", "__token__"),
    p.Lock(),
    p.Unlock("pass phrase"),
    p.Unlock(),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: r.op)
def test_requests_round_trip(request_: p.Request) -> None:
    assert p.decode_request(p.encode_request(request_)) == request_


def test_secrets_stay_out_of_repr() -> None:
    assert "pw-value" not in repr(p.Login("https://h/", "u", "basic", "pw-value"))
    assert "phrase-value" not in repr(p.Unlock("phrase-value"))
    assert "sekrit" not in repr(p.reply_ok(secret="sekrit"))


def test_reply_round_trip() -> None:
    reply = p.reply_ok(username="u", secret="s")
    assert p.decode_reply(p.encode_reply(reply)) == reply
    err = p.reply_error(p.LOCKED, "locked")
    assert p.decode_reply(p.encode_reply(err)) == err
    assert not err.ok and reply.ok


def test_header_layout() -> None:
    data = p.encode_request(p.Status())
    assert data[:4] == b"IDXA" and data[4] == p.VERSION
    assert int.from_bytes(data[5:9], "big") == len(data) - p.HEADER_SIZE


def test_frame_size_waits_for_a_whole_header_and_rejects_junk_early() -> None:
    assert p.frame_size(b"") is None
    assert p.frame_size(b"IDX") is None
    with pytest.raises(p.ProtocolError, match="magic"):
        p.frame_size(b"GET")
    with pytest.raises(p.ProtocolError, match="magic"):
        p.frame_size(b"GET / HTTP/1.1\r\n")


def test_oversized_frames_are_refused_from_the_header() -> None:
    header = p.HEADER.pack(p.MAGIC, p.VERSION, p.MAX_BODY + 1)
    with pytest.raises(p.ProtocolError, match="exceeds"):
        p.frame_size(header)
    with pytest.raises(p.ProtocolError, match="exceeds"):
        p.encode_request(p.Get("https://h/" + "x" * p.MAX_BODY))


def test_other_versions_are_unsupported() -> None:
    with pytest.raises(p.UnsupportedError) as info:
        p.parse_header(p.HEADER.pack(p.MAGIC, 2, 10))
    assert info.value.status == p.UNSUPPORTED


def _raw(body: object) -> bytes:
    raw = json.dumps(body).encode()
    return p.HEADER.pack(p.MAGIC, p.VERSION, len(raw)) + raw


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ([1, 2], p.INVALID),
        ({}, p.INVALID),
        ({"op": "fly"}, p.UNSUPPORTED),
        ({"op": "get"}, p.INVALID),
        ({"op": "get", "service": ""}, p.INVALID),
        ({"op": "get", "service": 3}, p.INVALID),
        ({"op": "get", "service": "https://h/", "username": 4}, p.INVALID),
        ({"op": "login", "service": "https://h/", "scheme": "digest", "secret": "x"}, p.INVALID),
        ({"op": "login", "service": "https://h/", "scheme": "basic"}, p.INVALID),
    ],
)
def test_malformed_requests(body: object, status: str) -> None:
    with pytest.raises(p.ProtocolError) as info:
        p.decode_request(_raw(body))
    assert info.value.status == status


def test_body_must_be_utf8_json_of_the_announced_length() -> None:
    with pytest.raises(p.ProtocolError, match="JSON"):
        p.decode_request(p.HEADER.pack(p.MAGIC, p.VERSION, 2) + b"\xff\xfe")
    with pytest.raises(p.ProtocolError, match="length"):
        p.decode_request(p.encode_request(p.Status()) + b"x")


def test_malformed_replies() -> None:
    with pytest.raises(p.ProtocolError):
        p.decode_reply(_raw({"status": "maybe"}))
    with pytest.raises(p.ProtocolError):
        p.decode_reply(_raw({"status": "ok", "data": []}))
