"""Key sources: where the key-encryption key (KEK) that wraps the store's data key comes from.

- ``file`` (default): 32 random bytes in the ``key`` file of the config dir, apart from the
  store, so a copy of the data dir alone reveals nothing. During ``rekey`` the file holds the
  new key and the old one, one per line (the current one first), so a reader finds the key of
  whichever store file it read; see :meth:`store.vault.Vault.rekey`.
- ``passphrase``: Argon2id over a passphrase, derived once per process (never per entry); the
  passphrase comes from ``IDX_AUTH_PASSPHRASE_FILE`` (CI) or a TTY prompt.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from store import crypto, files
from store.errors import KeyUnavailableError, StoreFileError
from store.model import KdfParams

KEY_FILE_HEADER = "idx-auth-key-v1"
SOURCES = ("file", "passphrase")

PassphraseReader = Callable[[bool], str]
"""Returns the passphrase; the flag asks for confirmation (a new passphrase is being set)."""


MAX_KEY_FILE = 64 * 1024
MAX_PASSPHRASE_FILE = 64 * 1024


def load_key_ring(path: Path) -> tuple[bytes, ...]:
    """Every key in the key file, the current one first; empty when the file does not exist."""
    text = files.read_private_text(path, "key file", limit=MAX_KEY_FILE)
    if text is None:
        return ()
    ring: list[bytes] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        head, _, body = line.strip().partition(" ")
        try:
            key = base64.b64decode(body, validate=True)
        except binascii.Error:
            key = b""
        if head != KEY_FILE_HEADER or len(key) != crypto.KEY_BYTES:
            ring = []
            break
        ring.append(key)
    if not ring:
        raise KeyUnavailableError(
            f"key file {path} is not a valid idx-auth key (damaged?); restore it from a backup"
        )
    return tuple(ring)


def load_key_file(path: Path) -> bytes | None:
    """The current key of the key file, or None when there is none."""
    ring = load_key_ring(path)
    return ring[0] if ring else None


def write_key_file(path: Path, *ring: bytes) -> None:
    text = "".join(f"{KEY_FILE_HEADER} {base64.b64encode(k).decode('ascii')}\n" for k in ring)
    files.atomic_write(path, text.encode("ascii"))


def passphrase_reader(env: Mapping[str, str] | None = None) -> PassphraseReader:
    """The standard way to get a passphrase: the file named by IDX_AUTH_PASSPHRASE_FILE, else
    a prompt on the terminal, else a clear error (CI must never hang on a prompt)."""
    env = os.environ if env is None else env

    def read(confirm: bool) -> str:
        named = env.get("IDX_AUTH_PASSPHRASE_FILE")
        if named:
            value = read_passphrase_file(Path(named))
            if not value:
                raise KeyUnavailableError(f"the passphrase file {named} is empty")
            return value
        if not sys.stdin.isatty():
            if confirm:  # choosing one: the store is not protected by it yet
                raise KeyUnavailableError(
                    "a new passphrase is needed and there is no terminal to ask for it; "
                    "set IDX_AUTH_PASSPHRASE_FILE to a file holding it"
                )
            raise KeyUnavailableError(
                "the store is protected by a passphrase and there is no terminal to ask; "
                "set IDX_AUTH_PASSPHRASE_FILE to a file holding it, or unlock the agent"
            )
        try:
            value = getpass.getpass("new passphrase: " if confirm else "idx-auth passphrase: ")
            if not value:
                raise KeyUnavailableError("empty passphrase; nothing changed")
            if confirm and getpass.getpass("repeat passphrase: ") != value:
                raise KeyUnavailableError("the passphrases do not match; nothing changed")
        except EOFError:  # Ctrl-D at the prompt
            raise KeyUnavailableError(
                "no passphrase given (end of input); nothing changed"
            ) from None
        return value

    return read


def read_passphrase_file(path: Path) -> str:
    """The passphrase on the first line of ``path``, held to the same rule as our own files
    (owned by us, mode 0600 or stricter, not a symlink): the passphrase opens every secret."""
    what = "passphrase file (IDX_AUTH_PASSPHRASE_FILE)"
    try:
        text = files.read_private_text(path, what, limit=MAX_PASSPHRASE_FILE)
    except StoreFileError as exc:
        raise KeyUnavailableError(str(exc)) from None
    if text is None:
        raise KeyUnavailableError(f"the {what} {path} does not exist")
    return text.partition("\n")[0].rstrip("\r")


def derive_passphrase_key(passphrase: str, params: KdfParams) -> bytes:
    try:
        return crypto.derive_key(passphrase, params)
    except crypto.CryptoError as exc:
        raise KeyUnavailableError(f"cannot derive the key: {exc}") from None
