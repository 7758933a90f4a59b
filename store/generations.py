"""Rollback detection: the highest generation of each store this machine wrote, kept in the
config dir (apart from the data dir, like the key).

Every write of a format-2 store raises the header's ``generation`` (authenticated with the
key, so it cannot be edited), and the writer then records ``store-id generation`` here. A store
file whose generation is lower than the record is an older copy put back -- a restored backup,
or somebody reviving old tokens -- and is refused with the way out. The record is written after
the store, so a crash between the two leaves the record behind (never ahead of) the file.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from store import files
from store.errors import RollbackError, StoreFileError
from store.model import FORMAT_VERSION, Header

RECORD_HEADER = "idx-auth-generation-v1"


@dataclass(frozen=True, slots=True)
class Seen:
    """The newest generation of a store this machine has seen."""

    store_id: str
    generation: int


def record_path(config: Path, store_file: Path) -> Path:
    """One record per store file (several data dirs may share a config dir)."""
    digest = hashlib.sha256(os.fsencode(os.path.abspath(store_file))).hexdigest()[:16]
    return config / f"generation-{digest}"


def load(path: Path) -> Seen | None:
    text = files.read_private_text(path, "generation record", limit=4096)
    if text is None:
        return None
    parts = text.split()
    if len(parts) >= 3 and parts[0] == RECORD_HEADER and parts[2].isdigit():
        return Seen(parts[1], int(parts[2]))
    raise StoreFileError(
        f"generation record {path} is damaged; delete it (rollback detection restarts "
        "from the store's current state)"
    )


def save(path: Path, seen: Seen, store_file: Path) -> None:
    text = f"{RECORD_HEADER} {seen.store_id} {seen.generation} {store_file}\n"
    files.atomic_write(path, text.encode("utf-8", "surrogateescape"))


def judge(header: Header | None, has_entries: bool, seen: Seen | None, record: Path) -> str | None:
    """Why the file must be refused as older than what was written here, or None. Pure."""
    if seen is None:
        return None
    way_out = f"if you put this copy back on purpose, delete {record} and run the command again"
    if header is None or header.format < FORMAT_VERSION:
        if header is None and not has_entries:
            return None  # the store was removed, or emptied: nothing old comes back
        return (
            f"it is in an older format than the generation {seen.generation} this machine "
            f"wrote (an old copy put back, or downgraded to skip authentication); {way_out}"
        )
    if header.store_id == seen.store_id and header.generation < seen.generation:
        return (
            f"it is generation {header.generation}, but generation {seen.generation} was "
            f"written here: an older copy was put back, which would revive old secrets and "
            f"tokens; {way_out}"
        )
    return None


def refuse(store_file: Path, problem: str) -> RollbackError:
    return RollbackError(f"{store_file} was rolled back: {problem}")
