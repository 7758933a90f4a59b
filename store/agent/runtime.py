"""The agent's runtime directory and listening socket, created with safe permissions.

The directory is made 0700 by mkdir and the socket 0600 by binding under a umask; nothing is
chmod-ed after the fact, so there is no window with wider permissions. An existing directory
that other users could enter or that we do not own is refused, as git credential-cache does.
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

from store.agent.errors import AgentSetupError

BACKLOG = 512


def ensure_runtime_dir(path: Path) -> Path:
    missing = []
    cur = path
    while not cur.exists() and cur != cur.parent:
        missing.append(cur)
        cur = cur.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise AgentSetupError(
                f"cannot create the agent runtime directory {directory}: {exc.strerror}; "
                "set IDX_AUTH_RUNTIME_DIR to a writable place"
            ) from None
    check_runtime_dir(path)
    return path


def check_runtime_dir(path: Path) -> None:
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise AgentSetupError(f"cannot inspect {path}: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise AgentSetupError(f"{path} is not a directory (or is a symlink); remove it")
    if st.st_uid != os.getuid():
        raise AgentSetupError(
            f"{path} belongs to uid {st.st_uid}, not to you (uid {os.getuid()}); "
            "remove it or set IDX_AUTH_RUNTIME_DIR"
        )
    if st.st_mode & 0o077:
        raise AgentSetupError(
            f"{path} has group or other permissions ({stat.filemode(st.st_mode)}); "
            "the agent refuses it. Remove the directory and let the agent create it, "
            "or `chmod 700` it yourself"
        )


def bind_socket(path: Path) -> socket.socket:
    """Listen on ``path`` (0600). A stale socket file is replaced; a live agent is an error."""
    ensure_runtime_dir(path.parent)
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise AgentSetupError(f"{path} exists and is not a socket; remove it")
        if _answers(path):
            raise AgentSetupError(
                f"an agent is already listening on {path}; stop it first (`idx-auth status`)"
            )
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    except OSError as exc:
        sock.close()
        raise AgentSetupError(f"cannot bind the agent socket {path}: {exc.strerror}") from None
    finally:
        os.umask(old)
    sock.listen(BACKLOG)
    return sock


def _answers(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    probe.settimeout(0.5)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True
