"""The store's only file I/O: private directories and files, the flock, atomic replacement.

Directories are created 0700 and files 0600 from the start (never chmod after the fact).
Writers hold an exclusive ``flock`` on ``credentials.toml.lock`` (the lock uv itself uses) and
replace the data file by temp file + fsync + rename + directory fsync, so a crash at any instant
leaves the old file or the new one, never a torn one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import struct
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from store.errors import StoreFileError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) as 0700 directories if missing."""
    if path.is_dir():
        return
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreFileError(
            f"cannot create directory {path}: {exc.strerror}; check its parent's permissions"
        ) from None


def check_private(path: Path, what: str) -> os.stat_result:
    """Stat ``path`` and refuse it when group or others may read or write it."""
    st = path.stat()
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        mode = stat.S_IMODE(st.st_mode)
        raise StoreFileError(
            f"{what} {path} has mode {mode:04o}, open to other users; "
            f"restrict it with 'chmod 600 {path}' and check nobody copied it"
        )
    return st


def read_private_text(path: Path, what: str) -> str | None:
    """The text of a private file, or None when it does not exist."""
    try:
        check_private(path, what)
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise StoreFileError(
            f"{what} {path} is not UTF-8 text (corrupted?); restore it from a backup"
        ) from None
    except OSError as exc:
        raise StoreFileError(f"cannot read {what} {path}: {exc.strerror}") from None


def read_private_bytes(path: Path, what: str) -> bytes | None:
    try:
        check_private(path, what)
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreFileError(f"cannot read {what} {path}: {exc.strerror}") from None


@contextlib.contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``lock_path`` (created 0600) for the block."""
    ensure_private_dir(lock_path.parent)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
    except OSError as exc:
        raise StoreFileError(f"cannot open lock file {lock_path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def slot_locked(lock_path: Path, slot: int, *, timeout: float | None) -> Iterator[bool]:
    """Hold an exclusive lock on byte ``slot`` of ``lock_path`` (created 0600) for the block;
    yields False when ``timeout`` seconds (0: do not wait; None: wait as long as it takes)
    passed first. One slot per store entry lets a slow token provider hold its entry while
    every other entry, and the store lock, stay free.

    Open-file-description locks (Linux): held per open, so two threads of the agent exclude
    each other too, and closing another descriptor of the file does not drop them. Without
    them, the whole file is flocked (every slot shares one lock)."""
    ensure_private_dir(lock_path.parent)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
    except OSError as exc:
        raise StoreFileError(f"cannot open lock file {lock_path}: {exc.strerror}") from None
    try:
        yield _acquire(fd, slot, timeout)
    finally:
        os.close(fd)  # closing releases the lock


_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", None)
_OFD_SETLKW = getattr(fcntl, "F_OFD_SETLKW", None)


def _acquire(fd: int, slot: int, timeout: float | None) -> bool:
    def attempt(block: bool) -> bool:
        try:
            if _OFD_SETLK is None or _OFD_SETLKW is None:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
            else:
                # struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for OFD locks).
                request = struct.pack("hh4xqqi4x", fcntl.F_WRLCK, os.SEEK_SET, slot, 1, 0)
                fcntl.fcntl(fd, _OFD_SETLKW if block else _OFD_SETLK, request)
        except (BlockingIOError, PermissionError):
            return False
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return False
            raise StoreFileError(f"cannot lock an entry of the store: {exc.strerror}") from None
        return True

    if timeout is None:
        return attempt(True)
    deadline = time.monotonic() + timeout
    while True:
        if attempt(False):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never a mix."""
    ensure_private_dir(path.parent)
    # mkstemp creates the file 0600 with O_EXCL in the same directory, so rename is atomic.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def remove_stale_temps(path: Path) -> None:
    """Delete temp files a killed writer left beside ``path``. Call only under the lock: then
    no live writer owns one."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()


def fsync_dir(path: Path) -> None:
    dfd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
