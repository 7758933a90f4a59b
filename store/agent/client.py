"""Talk to a running agent: one connect, one request, one reply.

Standard library (and the pure records of :mod:`store.model`) only, and cheap to import: every
``keyring`` lookup with an agent running imports it. Never imports cryptography, httpx, tomllib
or platformdirs.

:func:`get` is :func:`store.access.get_credential`'s call; it never raises. :func:`request` is
for the CLI and raises :class:`AgentUnavailable` when no agent answers.
"""

from __future__ import annotations

import enum
import os
import socket
import struct
from collections.abc import Mapping
from typing import TYPE_CHECKING

from store.agent import wire
from store.credential import SCHEMES, Ambiguous, Credential

if TYPE_CHECKING:
    from store.agent import protocol as p

DEFAULT_TIMEOUT = 1.0
#: ``struct ucred`` as SO_PEERCRED returns it: pid, uid, gid.
PEER_CREDENTIALS = struct.Struct("3i")


class Agent(enum.Enum):
    """Why :func:`get` has no answer from an agent (as opposed to the agent saying 'none')."""

    NOT_RUNNING = "not running"
    LOCKED = "locked"


NOT_RUNNING = Agent.NOT_RUNNING
LOCKED = Agent.LOCKED


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
        uid = peer_uid(sock)
        if uid != os.getuid():
            raise AgentUnavailable(f"the agent socket {address} belongs to uid {uid}, not to you")
        sock.sendall(frame)
        return _read_frame(sock)
    except (OSError, wire.ProtocolError) as exc:
        raise AgentUnavailable(f"no agent answered on {address}: {exc}") from None
    finally:
        sock.close()


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a connected Unix socket (SO_PEERCRED)."""
    _pid, uid, _gid = PEER_CREDENTIALS.unpack(
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, PEER_CREDENTIALS.size)
    )
    return int(uid)


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
) -> Credential | Ambiguous | Agent | None:
    """The agent's answer to a lookup: the :class:`~store.model.Credential`; the
    :class:`~store.model.Ambiguous` value when only a username could tell; None when the agent
    found nothing (or failed: the agent logs why); :data:`LOCKED` when its store is locked;
    :data:`NOT_RUNNING` when no agent answered (read the file). Never raises.

    This is the one place a ``get`` reply becomes a value; the agent makes the reply from the
    same values in :mod:`store.agent.core`.
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
    if status == wire.LOCKED:
        return LOCKED
    if status == wire.AMBIGUOUS:
        names = data.get("usernames")
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            return Ambiguous(str(data.get("service") or service), tuple(names))
        return None
    if status != wire.OK:
        return None
    found, user, scheme, secret = (data.get(k) for k in ("service", "username", "scheme", "secret"))
    if not (
        isinstance(found, str)
        and (user is None or isinstance(user, str))
        and scheme in SCHEMES
        and isinstance(secret, str)
    ):
        return None
    return Credential(found, user, "bearer" if scheme == "bearer" else "basic", secret)
