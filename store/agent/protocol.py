"""The agent's messages: typed requests and replies over the framing of
:mod:`store.agent.wire`. Pure: bytes in, values out.

docs/agent.md's "Protocol (version 1)" documents both. The server and the CLI use these records;
the keyring backend's hot path does not need them (``client.get`` speaks :mod:`wire` directly).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, TypeVar

from store.agent.wire import (
    AMBIGUOUS,
    FAILED,
    FORBIDDEN,
    HEADER,
    HEADER_SIZE,
    INVALID,
    LOCKED,
    MAGIC,
    MAX_BODY,
    NOT_FOUND,
    OK,
    OTHER_STORE,
    STATUSES,
    UNSUPPORTED,
    VERSION,
    ProtocolError,
    UnsupportedError,
    frame,
    frame_size,
    parse_header,
    read_body,
)
from store.model import SCHEMES, Scheme

__all__ = [
    "AMBIGUOUS",
    "FAILED",
    "FORBIDDEN",
    "HEADER",
    "HEADER_SIZE",
    "INVALID",
    "LOCKED",
    "MAGIC",
    "MAX_BODY",
    "NOT_FOUND",
    "OK",
    "OTHER_STORE",
    "STATUSES",
    "UNSUPPORTED",
    "VERSION",
    "Get",
    "ListEntries",
    "Lock",
    "Login",
    "Logout",
    "ProtocolError",
    "Refresh",
    "Reply",
    "Request",
    "Status",
    "Unlock",
    "UnsupportedError",
    "decode_envelope",
    "decode_reply",
    "decode_request",
    "encode_reply",
    "encode_request",
    "frame",
    "frame_size",
    "parse_header",
    "reply_error",
    "reply_ok",
]

T = TypeVar("T")

# --- requests -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Get:
    """A lookup of a service's credential."""

    service: str
    username: str | None = None
    op: Literal["get"] = "get"


@dataclass(frozen=True, slots=True)
class ListEntries:
    """One page of the entries, from ``offset``; the reply's ``next`` is the next page's."""

    offset: int = 0
    op: Literal["list"] = "list"


@dataclass(frozen=True, slots=True)
class Status:
    """The agent's state and one page of its entries, from ``offset`` (see ListEntries)."""

    offset: int = 0
    op: Literal["status"] = "status"


@dataclass(frozen=True, slots=True)
class Login:
    """Store a credential through the agent."""

    service: str
    username: str | None
    scheme: Scheme
    secret: str = field(repr=False)
    op: Literal["login"] = "login"


@dataclass(frozen=True, slots=True)
class Logout:
    """Remove a credential through the agent."""

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
    """Forget the unlocked key."""

    op: Literal["lock"] = "lock"


@dataclass(frozen=True, slots=True)
class Unlock:
    """Unlock a passphrase store for a while."""

    passphrase: str | None = field(default=None, repr=False)
    op: Literal["unlock"] = "unlock"


Request: TypeAlias = Get | ListEntries | Status | Login | Logout | Refresh | Lock | Unlock


# --- replies --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    """``status`` is one of :data:`STATUSES`; ``data`` is per op (docs/agent.md, "Protocol")."""

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


# --- request encoding -----------------------------------------------------------------------

_FIELDS: dict[str, tuple[str, ...]] = {
    "get": ("service", "username"),
    "list": ("offset",),
    "status": ("offset",),
    "login": ("service", "username", "scheme", "secret"),
    "logout": ("service", "username"),
    "refresh": ("service", "username"),
    "lock": (),
    "unlock": ("passphrase",),
}


def encode_request(request: Request, *, store: str | None = None) -> bytes:
    """The request's frame; with ``store`` (the client's store file), an agent serving another
    store answers :data:`OTHER_STORE` instead of acting on the wrong file."""
    body: dict[str, Any] = {"op": request.op}
    for name in _FIELDS[request.op]:
        body[name] = getattr(request, name)
    if store is not None:
        body["store"] = store
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
    return _request(read_body(frame_bytes))


def decode_envelope(frame_bytes: bytes) -> tuple[Request, str | None]:
    """The request and the store file the client named (None: any)."""
    body = read_body(frame_bytes)
    return _request(body), _text(body, "store", optional=True)


def _request(body: dict[str, Any]) -> Request:
    op = body.get("op")
    if not isinstance(op, str) or op not in _FIELDS:
        if isinstance(op, str):
            raise UnsupportedError(f"unknown op {op[:40]!r}")
        raise ProtocolError("missing op")
    if op == "get":
        return Get(_need(body, "service"), _text(body, "username", optional=True))
    if op == "list":
        return ListEntries(_offset(body))
    if op == "status":
        return Status(_offset(body))
    if op == "login":
        scheme = body.get("scheme")
        if scheme not in SCHEMES:
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


def _offset(body: dict[str, Any]) -> int:
    value = body.get("offset")
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**31:
        raise ProtocolError("field 'offset' must be a non-negative integer")
    return value


def page(
    items: Sequence[T], offset: int, size: Callable[[T], int], budget: int
) -> tuple[list[T], int | None]:
    """The items from ``offset`` whose sizes fit ``budget`` (at least one), and the offset of
    the next page (None: this was the last). Replies stay under MAX_BODY however many entries
    a store has."""
    out: list[T] = []
    used = 0
    for index in range(offset, len(items)):
        cost = size(items[index])
        if out and used + cost > budget:
            return out, index
        out.append(items[index])
        used += cost
    return out, None


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
    body = read_body(frame_bytes)
    status = body.get("status")
    data = body.get("data", {})
    message = body.get("message", "")
    if status not in STATUSES or not isinstance(data, dict) or not isinstance(message, str):
        raise ProtocolError("malformed reply")
    return Reply(status, data, message)
