"""Keep the agent's memory (the data key, decrypted secrets) out of core dumps and debuggers."""

from __future__ import annotations

import ctypes
import ctypes.util
import resource

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3


def harden_process() -> None:
    """RLIMIT_CORE=0 and PR_SET_DUMPABLE=0, as ssh-agent does.

    Not dumpable also means other processes of the same user cannot ptrace us or read
    /proc/<pid>/mem. Failures raise OSError: an agent that cannot protect its key should not run.
    """
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, "prctl(PR_SET_DUMPABLE, 0) failed")


def is_dumpable() -> bool:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    return bool(libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0))
