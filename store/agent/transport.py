"""One connect, one request frame, one reply frame: the client side of the agent's socket.

The cheapest module on the path to the agent: the standard library's C socket module, ``os``,
``struct`` and :mod:`store.agent.wire`. The ``keyring`` launcher (:mod:`keyring_idx.launcher`)
and the CLI's quick path run on it alone; :mod:`store.agent.client` builds on it.

``_socket`` rather than ``socket``: the latter's Python layer imports enum and selectors, a
third of what a launcher run imports, for nothing this module uses.
"""

from __future__ import annotations

import _socket
import os
import struct
import sys

from store.agent import wire

TYPE_CHECKING = False  # see store.agent.wire: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

#: ``struct ucred`` as SO_PEERCRED returns it: pid, uid, gid.
PEER_CREDENTIALS = struct.Struct("3i")

_LINUX = sys.platform.startswith("linux")


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


def store_file(env: Mapping[str, str] | None = None) -> str | None:
    """The caller's store file by :func:`store.dirs.resolve_dirs`'s rule, with ``os.path`` only
    (pathlib costs the launcher milliseconds); None where that rule needs platformdirs (not
    Linux): the request then names no store."""
    env = os.environ if env is None else env
    data = env.get("IDX_AUTH_DATA_DIR")
    if not data:
        if not _LINUX:
            return None
        xdg = env.get("XDG_DATA_HOME", "")
        home = env.get("HOME") or os.path.expanduser("~")
        base = xdg if xdg.strip() else os.path.join(home, ".local/share")
        data = os.path.join(base, "idx-auth")
    return os.path.join(os.path.normpath(data), "credentials.toml")


def exchange(frame: bytes, timeout: float, address: str) -> bytes:
    """Send one request frame, return the reply frame; AgentUnavailable when nobody answers."""
    try:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
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


def peer_uid(sock: _socket.socket) -> int:
    """The uid of the process at the other end of a connected Unix socket (SO_PEERCRED)."""
    _pid, uid, _gid = PEER_CREDENTIALS.unpack(
        sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, PEER_CREDENTIALS.size)
    )
    return int(uid)


def _read_frame(sock: _socket.socket) -> bytes:
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


def ask(
    body: dict[str, Any], timeout: float, address: str, *, store: str | None = None
) -> dict[str, Any]:
    """One request body out, the reply body back (unchecked beyond being a JSON object).

    ``store`` (the caller's store file) is sent along so that an agent serving another store
    answers ``other_store`` instead of acting on its own file.

    Raises AgentUnavailable when nobody answers or the reply is not a frame;
    :class:`wire.ProtocolError` or ValueError when ``body`` cannot be framed (too large, text
    that is not UTF-8 encodable).
    """
    if store is not None:
        body = {**body, "store": store}
    raw = exchange(wire.frame(body), timeout, address)
    try:
        return wire.read_body(raw)
    except wire.ProtocolError as exc:
        raise AgentUnavailable(f"no agent answered on {address}: {exc}") from None
