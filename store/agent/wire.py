"""The agent's framing: bytes <-> JSON objects. Pure, standard library only.

A frame is a 9-byte header -- the magic ``b"IDXA"``, one version byte and a big-endian 32-bit
body length -- followed by a UTF-8 JSON object of at most :data:`MAX_BODY` bytes. A connection
carries exactly one request frame and one reply frame, then closes. docs/agent.md's "Protocol
(version 1)" documents it.

The keyring backend's lookup goes through this module alone (see ``client.get``): it defines
no classes but its two errors, and speaks JSON through :mod:`store.leanjson` (no :mod:`json`,
:mod:`re` or :mod:`enum`), so importing it costs next to nothing on every lookup. The typed
messages live in :mod:`store.agent.protocol`.
"""

from __future__ import annotations

import struct

from store import leanjson

# Not `from typing import TYPE_CHECKING`: importing typing would cost the `keyring` launcher
# (keyring_idx.launcher) as much as all its other imports together.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAGIC = b"IDXA"
VERSION = 1
HEADER = struct.Struct(">4sBI")
HEADER_SIZE = HEADER.size
# A request carries at most a URL, a username and a secret; 64 KiB leaves room for `list`
# replies of a few hundred entries while bounding what a client can make the agent buffer.
MAX_BODY = 64 * 1024

# Reply status values. `ok` carries data; the others carry a message for a person.
OK = "ok"
NOT_FOUND = "not_found"  # nothing matched (get), nothing to remove (logout)
LOCKED = "locked"  # the store is locked: run `idx-auth unlock`
AMBIGUOUS = "ambiguous"  # several usernames match equally well
INVALID = "invalid"  # malformed request, bad URL, bad field
FORBIDDEN = "forbidden"  # peer uid refused
UNSUPPORTED = "unsupported"  # unknown op or protocol version
FAILED = "failed"  # the store failed (unreadable file, wrong passphrase, I/O error)
OTHER_STORE = "other_store"  # the request named a store this agent does not serve
STATUSES = frozenset(
    {OK, NOT_FOUND, LOCKED, AMBIGUOUS, INVALID, FORBIDDEN, UNSUPPORTED, FAILED, OTHER_STORE}
)


class ProtocolError(Exception):
    """Bytes that are not a valid frame or message. The message never quotes the body."""

    status = INVALID


class UnsupportedError(ProtocolError):
    """A well-formed frame of another protocol version, or an op this side does not know."""

    status = UNSUPPORTED


# --- framing --------------------------------------------------------------------------------


def frame(body: dict[str, Any]) -> bytes:
    raw = leanjson.dumps(body).encode()
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


def read_body(frame_bytes: bytes) -> dict[str, Any]:
    size = frame_size(frame_bytes)
    if size is None or len(frame_bytes) != size:
        raise ProtocolError("frame length does not match its header")
    try:
        value = leanjson.loads(frame_bytes[HEADER_SIZE:].decode())
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError("message body is not UTF-8 JSON") from None
    if not isinstance(value, dict):
        raise ProtocolError("message body is not a JSON object")
    return value


def credential(reply: dict[str, Any]) -> tuple[str, str | None, str, str] | None:
    """``(service, username, scheme, secret)`` of an ``ok`` reply to ``get``, checked; else
    None. :func:`store.agent.client.get` makes a Credential of it; the ``keyring`` launcher
    and the CLI's quick path, which must not import dataclasses, use it as it is."""
    data = reply.get("data")
    if reply.get("status") != OK or not isinstance(data, dict):
        return None
    found, user, scheme, secret = (data.get(k) for k in ("service", "username", "scheme", "secret"))
    if not (
        isinstance(found, str)
        and (user is None or isinstance(user, str))
        and scheme in ("basic", "bearer")  # store.credential.SCHEMES
        and isinstance(secret, str)
    ):
        return None
    return (found, user, scheme, secret)
