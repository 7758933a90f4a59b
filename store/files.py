"""The store's only file I/O: private directories and files, the flock, atomic replacement.

One rule for every directory and file of ours (data dir, config dir, store, lock file, key file,
generation record, the passphrase file): **owned by us, no group or other access, and no symlink
we did not make**. Files are opened with ``O_NOFOLLOW`` (we never make a symlink to one) and
checked on the open descriptor, so nothing can be swapped in between the check and the use. A
directory may be a symlink only when the link itself is ours and what it points at passes the
rule (a dotfiles setup), since a link somebody else planted would redirect us to their files.

Directories are created 0700 and files 0600 from the start (never chmod after the fact), and
missing parents too: ``mkdir -p`` would make them ``0777 & ~umask``, which under umask 000 is
open to all. Writers hold an exclusive ``flock`` on ``credentials.toml.lock`` (the lock uv itself
uses) and replace the data file by temp file + fsync + rename + directory fsync, so a crash at
any instant leaves the old file or the new one, never a torn one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from store.errors import StoreFileError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
MAX_PRIVATE_FILE = 64 * 1024 * 1024
"""No file of ours is read past this size: 10,000 entries take about 5 MB."""


def problem_with(
    path: Path, st: os.stat_result, what: str, *, link: os.stat_result | None = None
) -> str | None:
    """Why ``path`` (stat ``st``; ``link`` the lstat of a symlink to it) breaks the rule, with
    the fix; or None. Pure: doctor shows the same words."""
    uid = os.geteuid()
    if link is not None and link.st_uid != uid:
        return (
            f"{what} {path} is a symlink owned by uid {link.st_uid}, not by you; "
            f"remove it and create the real directory (mkdir -m 700 {path})"
        )
    if st.st_uid != uid:
        return (
            f"{what} {path} is owned by uid {st.st_uid}, not by you (uid {uid}); "
            f"use a directory of your own, or 'chown {uid} {path}' if it is yours"
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        fix = "700" if stat.S_ISDIR(st.st_mode) else "600"
        return (
            f"{what} {path} has mode {mode:04o}, open to other users; "
            f"restrict it with 'chmod {fix} {path}' and check nobody changed or copied it"
        )
    return None


def inspect_dir(path: Path, what: str) -> str | None:
    """The rule for a directory of ours that exists: None when it holds, else the problem."""
    try:
        first = path.lstat()
        link = first if stat.S_ISLNK(first.st_mode) else None
        st = path.stat() if link is not None else first
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot inspect {what} {path}: {exc.strerror}"
    if not stat.S_ISDIR(st.st_mode):
        return f"{what} {path} is not a directory; move it aside"
    return problem_with(path, st, what, link=link)


def inspect_file(path: Path, what: str) -> str | None:
    """The rule for a file of ours that exists (no symlink at all): None when it holds."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot inspect {what} {path}: {exc.strerror}"
    if stat.S_ISLNK(st.st_mode):
        return (
            f"{what} {path} is a symlink; idx-auth never makes one there: remove it "
            "(and restore the real file from a backup if you need it)"
        )
    if not stat.S_ISREG(st.st_mode):
        return f"{what} {path} is not a regular file; move it aside"
    return problem_with(path, st, what)


def check_dir(path: Path, what: str) -> None:
    problem = inspect_dir(path, what)
    if problem is not None:
        raise StoreFileError(problem)


def ensure_private_dir(path: Path, what: str = "directory") -> None:
    """Create ``path`` and any missing parents as 0700 directories; then hold it to the rule."""
    missing: list[Path] = []
    probe = path
    while not os.path.lexists(probe):
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for step in reversed(missing):
        try:
            os.mkdir(step, PRIVATE_DIR)
        except FileExistsError:
            pass  # made by a concurrent process meanwhile; the check below judges it
        except OSError as exc:
            raise StoreFileError(
                f"cannot create directory {step}: {exc.strerror}; check its parent's permissions"
            ) from None
    check_dir(path, what)


def open_private(path: Path, what: str, flags: int = os.O_RDONLY, *, create: bool = False) -> int:
    """A descriptor on ``path`` that is no symlink, is a regular file and passes the rule.
    Raises FileNotFoundError when it does not exist (and ``create`` is off)."""
    flags |= os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    if create:
        flags |= os.O_CREAT
    try:
        fd = os.open(path, flags, PRIVATE_FILE)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if os.path.islink(path):
            raise StoreFileError(
                f"{what} {path} is a symlink; idx-auth never makes one there: remove it "
                "(and restore the real file from a backup if you need it)"
            ) from None
        raise StoreFileError(f"cannot open {what} {path}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise StoreFileError(f"{what} {path} is not a regular file; move it aside")
        problem = problem_with(path, st, what)
        if problem is not None:
            raise StoreFileError(problem)
        # O_NONBLOCK only kept a FIFO from blocking the open; regular files ignore it.
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_private_bytes(path: Path, what: str, *, limit: int = MAX_PRIVATE_FILE) -> bytes | None:
    """The bytes of a private file, or None when it does not exist."""
    try:
        fd = open_private(path, what)
    except FileNotFoundError:
        return None
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise StoreFileError(
                f"{what} {path} is {size} bytes, more than idx-auth reads ({limit}); "
                "it is not one of ours: move it aside and restore it from a backup"
            )
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise StoreFileError(f"cannot read {what} {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew while we read
        raise StoreFileError(f"{what} {path} is larger than idx-auth reads ({limit} bytes)")
    return data


def read_private_text(path: Path, what: str, *, limit: int = MAX_PRIVATE_FILE) -> str | None:
    """The text of a private file, or None when it does not exist."""
    data = read_private_bytes(path, what, limit=limit)
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise StoreFileError(
            f"{what} {path} is not UTF-8 text (corrupted?); restore it from a backup"
        ) from None


@contextlib.contextmanager
def locked(lock_path: Path, *, ours: bool = True) -> Iterator[None]:
    """Hold an exclusive flock on ``lock_path`` (created 0600) for the block.

    ``ours`` applies the rule to the lock file and its directory; uv's own lock (import,
    export) lives in uv's directory, under uv's rules, and is only kept from being a symlink.
    """
    if ours:
        ensure_private_dir(lock_path.parent, "data directory")
        fd = open_private(lock_path, "lock file", os.O_RDWR, create=True)
    else:
        lock_path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        try:
            fd = os.open(
                lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, PRIVATE_FILE
            )
        except OSError as exc:
            raise StoreFileError(f"cannot open lock file {lock_path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def atomic_write(path: Path, data: bytes, *, ours: bool = True) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never a mix.

    ``ours`` holds the directory to the rule (it is ours); ``export`` writes wherever it is told.
    """
    if ours:
        ensure_private_dir(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
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
