"""Talk to a running agent: one connect, one request, one reply.

Standard library only and cheap to import: the keyring backend imports this at module import
time on every ``keyring`` run. Never imports cryptography, httpx, tomllib or platformdirs.

:func:`get` is the backend's call; it never raises. :func:`request` is for the CLI and raises
:class:`AgentUnavailable` when no agent answers.
"""

from __future__ import annotations

import enum
import os
import socket
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from store.agent import wire

if TYPE_CHECKING:
    from store.agent import protocol as p

DEFAULT_TIMEOUT = 1.0
_PEERCRED = struct.Struct("3i")


class Agent(enum.Enum):
    """Why :func:`get` has no answer from an agent (as opposed to the agent saying 'none')."""

    NOT_RUNNING = "not running"
    LOCKED = "locked"  # running, but its store is locked: `idx-auth unlock`


NOT_RUNNING = Agent.NOT_RUNNING
LOCKED = Agent.LOCKED


@dataclass(frozen=True, slots=True)
class Ambiguous:
    """The agent found several usernames for a lookup that named none."""

    service: str
    usernames: tuple[str, ...]


class AgentUnavailable(Exception):
    """No agent answered on the socket (not running, stale socket, timeout, wrong owner)."""


def socket_path(env: Mapping[str, str] | None = None) -> str:
    """``agent.sock`` in the runtime dir; the same rule as :func:`store.dirs.resolve_dirs`."""
    env = os.environ if env is None else env
    runtime = env.get("IDX_AUTH_RUNTIME_DIR")
    if not runtime:
        xdg = env.get("XDG_RUNTIME_DIR")
        if xdg:
            runtime = os.path.join(xdg, "idx-auth")
        else:
            runtime = os.path.join(env.get("TMPDIR") or "/tmp", f"idx-auth-{os.getuid()}")
    return os.path.join(runtime, "agent.sock")


def request(
    message: p.Request, *, timeout: float = DEFAULT_TIMEOUT, path: str | None = None
) -> p.Reply:
    """Send one request and return the agent's reply; AgentUnavailable when nobody answers."""
    from store.agent import protocol as p

    address = path or socket_path()
    try:
        return p.decode_reply(_exchange(p.encode_request(message), timeout, address))
    except wire.ProtocolError as exc:
        raise AgentUnavailable(f"no agent answered on {address}: {exc}") from None


def _exchange(frame: bytes, timeout: float, address: str) -> bytes:
    """One request frame out, one reply frame back."""
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    except (AttributeError, OSError) as exc:
        raise AgentUnavailable(f"cannot create a Unix socket: {exc}") from None
    try:
        sock.settimeout(timeout)
        sock.connect(address)
        # The agent must be ours: a socket planted by another user must not see our secrets.
        _pid, uid, _gid = _PEERCRED.unpack(
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
        )
        if uid != os.getuid():
            raise AgentUnavailable(f"the agent socket {address} belongs to uid {uid}, not to you")
        sock.sendall(frame)
        return _read_frame(sock)
    except (OSError, wire.ProtocolError) as exc:
        raise AgentUnavailable(f"no agent answered on {address}: {exc}") from None
    finally:
        sock.close()


def _read_frame(sock: socket.socket) -> bytes:
    buffer = b""
    size: int | None = None
    while size is None or len(buffer) < size:
        chunk = sock.recv(65536 if size is None else size - len(buffer))
        if not chunk:
            raise wire.ProtocolError("the agent closed the connection before replying")
        buffer += chunk
        if size is None:
            size = wire.frame_size(buffer)
    return buffer[:size]


def get(
    service: str,
    username: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    path: str | None = None,
) -> tuple[str, str] | Ambiguous | Agent | None:
    """``(username, secret)``; :class:`Ambiguous` when only a username could tell; None when
    the agent found nothing; :data:`LOCKED` when its store is locked; :data:`NOT_RUNNING` when
    no agent answered (fall back to the file). Never raises.

    A bearer entry without a username comes back with username ``""``.
    """
    # Framing only, no message classes: this runs on every `keyring` lookup.
    try:
        raw = _exchange(
            wire.frame({"op": "get", "service": service, "username": username}),
            timeout,
            path or socket_path(),
        )
        reply = wire.read_body(raw)
    except (AgentUnavailable, wire.ProtocolError, ValueError):  # ValueError: unencodable text
        return NOT_RUNNING
    status, data = reply.get("status"), reply.get("data")
    if not isinstance(data, dict):
        data = {}
    if status == wire.UNSUPPORTED:  # an agent of another protocol version: read the file
        return NOT_RUNNING
    if status == wire.AMBIGUOUS:
        names = data.get("usernames")
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            return Ambiguous(str(data.get("service") or service), tuple(names))
        return None
    if status == wire.LOCKED:
        return LOCKED
    if status != wire.OK:
        return None
    user = data.get("username")
    secret = data.get("secret")
    if not isinstance(secret, str) or not (user is None or isinstance(user, str)):
        return None
    return (user or "", secret)
