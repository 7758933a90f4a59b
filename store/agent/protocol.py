"""The agent's wire protocol: framing and messages. Pure: bytes in, values out.

A frame is a 9-byte header -- the magic ``b"IDXA"``, one version byte and a big-endian 32-bit
body length -- followed by a UTF-8 JSON object of at most :data:`MAX_BODY` bytes. A connection
carries exactly one request frame and one reply frame, then closes. The README's "Protocol
(version 1)" documents it.

This module is imported by the client on the keyring backend's import path: standard library
only (json, struct, dataclasses -- which keyring has imported already), no I/O.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

MAGIC = b"IDXA"
VERSION = 1
HEADER = struct.Struct(">4sBI")
HEADER_SIZE = HEADER.size
# A request carries at most a URL, a username and a secret; 64 KiB leaves room for `list`
# replies of a few hundred entries while bounding what a client can make the agent buffer.
MAX_BODY = 64 * 1024

Scheme: TypeAlias = Literal["basic", "bearer"]

# Reply status values. `ok` carries data; the others carry a message for a person.
OK = "ok"
NOT_FOUND = "not_found"  # nothing matched (get), nothing to remove (logout)
LOCKED = "locked"  # the store is locked: run `idx-auth unlock`
AMBIGUOUS = "ambiguous"  # several usernames match equally well
INVALID = "invalid"  # malformed request, bad URL, bad field
FORBIDDEN = "forbidden"  # peer uid refused
UNSUPPORTED = "unsupported"  # unknown op or protocol version
FAILED = "failed"  # the store failed (unreadable file, wrong passphrase, I/O error)
STATUSES = frozenset({OK, NOT_FOUND, LOCKED, AMBIGUOUS, INVALID, FORBIDDEN, UNSUPPORTED, FAILED})


class ProtocolError(Exception):
    """Bytes that are not a valid frame or message. The message never quotes the body."""

    status = INVALID


class UnsupportedError(ProtocolError):
    """A well-formed frame of another protocol version, or an op this side does not know."""

    status = UNSUPPORTED


# --- requests -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Get:
    service: str
    username: str | None = None
    op: Literal["get"] = "get"


@dataclass(frozen=True, slots=True)
class ListEntries:
    op: Literal["list"] = "list"


@dataclass(frozen=True, slots=True)
class Status:
    op: Literal["status"] = "status"


@dataclass(frozen=True, slots=True)
class Login:
    service: str
    username: str | None
    scheme: Scheme
    secret: str = field(repr=False)
    op: Literal["login"] = "login"


@dataclass(frozen=True, slots=True)
class Logout:
    service: str
    username: str | None = None
    op: Literal["logout"] = "logout"


@dataclass(frozen=True, slots=True)
class Refresh:
    """Refresh tokens now: one entry, or every refreshable entry when service is None."""

    service: str | None = None
    username: str | None = None
    op: Literal["refresh"] = "refresh"


@dataclass(frozen=True, slots=True)
class Lock:
    op: Literal["lock"] = "lock"


@dataclass(frozen=True, slots=True)
class Unlock:
    passphrase: str | None = field(default=None, repr=False)
    op: Literal["unlock"] = "unlock"


Request: TypeAlias = Get | ListEntries | Status | Login | Logout | Refresh | Lock | Unlock


# --- replies --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    """``status`` is one of :data:`STATUSES`; ``data`` is op-specific (see README, "Protocol")."""

    status: str
    data: dict[str, Any] = field(default_factory=dict, repr=False)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK


def reply_ok(**data: Any) -> Reply:
    return Reply(OK, data)


def reply_error(status: str, message: str) -> Reply:
    return Reply(status, {}, message)


# --- framing --------------------------------------------------------------------------------


def frame(body: dict[str, Any]) -> bytes:
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    if len(raw) > MAX_BODY:
        raise ProtocolError(f"message of {len(raw)} bytes exceeds the {MAX_BODY}-byte limit")
    return HEADER.pack(MAGIC, VERSION, len(raw)) + raw


def parse_header(header: bytes) -> int:
    """The body length announced by a 9-byte header; ProtocolError for anything else."""
    if len(header) != HEADER_SIZE:
        raise ProtocolError("truncated header")
    magic, version, length = HEADER.unpack(header)
    if magic != MAGIC:
        raise ProtocolError("not an idx-auth agent frame (bad magic)")
    if version != VERSION:
        raise UnsupportedError(f"protocol version {version} is not supported (ours: {VERSION})")
    if length > MAX_BODY:
        raise ProtocolError(f"message of {length} bytes exceeds the {MAX_BODY}-byte limit")
    return int(length)


def frame_size(buffer: bytes) -> int | None:
    """Total size of the frame at the start of ``buffer``, or None while the header is partial."""
    if len(buffer) < HEADER_SIZE:
        # Reject junk as soon as the magic cannot match, instead of waiting for 9 bytes.
        if not MAGIC.startswith(buffer[: len(MAGIC)]):
            raise ProtocolError("not an idx-auth agent frame (bad magic)")
        return None
    return HEADER_SIZE + parse_header(buffer[:HEADER_SIZE])


def _body(frame_bytes: bytes) -> dict[str, Any]:
    size = frame_size(frame_bytes)
    if size is None or len(frame_bytes) != size:
        raise ProtocolError("frame length does not match its header")
    try:
        value = json.loads(frame_bytes[HEADER_SIZE:].decode())
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError("message body is not UTF-8 JSON") from None
    if not isinstance(value, dict):
        raise ProtocolError("message body is not a JSON object")
    return value


# --- request encoding -----------------------------------------------------------------------

_FIELDS: dict[str, tuple[str, ...]] = {
    "get": ("service", "username"),
    "list": (),
    "status": (),
    "login": ("service", "username", "scheme", "secret"),
    "logout": ("service", "username"),
    "refresh": ("service", "username"),
    "lock": (),
    "unlock": ("passphrase",),
}


def encode_request(request: Request) -> bytes:
    body: dict[str, Any] = {"op": request.op}
    for name in _FIELDS[request.op]:
        body[name] = getattr(request, name)
    return frame(body)


def _text(body: dict[str, Any], name: str, *, optional: bool) -> str | None:
    value = body.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        kind = "a non-empty string" + (" or null" if optional else "")
        raise ProtocolError(f"field {name!r} must be {kind}")
    return value


def decode_request(frame_bytes: bytes) -> Request:
    body = _body(frame_bytes)
    op = body.get("op")
    if not isinstance(op, str) or op not in _FIELDS:
        if isinstance(op, str):
            raise UnsupportedError(f"unknown op {op[:40]!r}")
        raise ProtocolError("missing op")
    if op == "get":
        return Get(_need(body, "service"), _text(body, "username", optional=True))
    if op == "list":
        return ListEntries()
    if op == "status":
        return Status()
    if op == "login":
        scheme = body.get("scheme")
        if scheme not in ("basic", "bearer"):
            raise ProtocolError("field 'scheme' must be 'basic' or 'bearer'")
        return Login(
            _need(body, "service"),
            _text(body, "username", optional=True),
            scheme,
            _need(body, "secret"),
        )
    if op == "logout":
        return Logout(_need(body, "service"), _text(body, "username", optional=True))
    if op == "refresh":
        service = _text(body, "service", optional=True)
        return Refresh(service, _text(body, "username", optional=True))
    if op == "lock":
        return Lock()
    return Unlock(_text(body, "passphrase", optional=True))


def _need(body: dict[str, Any], name: str) -> str:
    value = _text(body, name, optional=False)
    assert value is not None
    return value


# --- reply encoding -------------------------------------------------------------------------


def encode_reply(reply: Reply) -> bytes:
    body: dict[str, Any] = {"status": reply.status}
    if reply.data:
        body["data"] = reply.data
    if reply.message:
        body["message"] = reply.message
    try:
        return frame(body)
    except ProtocolError as exc:
        return frame({"status": FAILED, "message": f"reply too large: {exc}"})


def decode_reply(frame_bytes: bytes) -> Reply:
    body = _body(frame_bytes)
    status = body.get("status")
    data = body.get("data", {})
    message = body.get("message", "")
    if status not in STATUSES or not isinstance(data, dict) or not isinstance(message, str):
        raise ProtocolError("malformed reply")
    return Reply(status, data, message)
