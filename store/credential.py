"""What a lookup answers: a :class:`Credential`, or :class:`Ambiguous` when only a username
could tell. Pure values, standard library only and cheap to import: the agent client builds
them on every ``keyring`` lookup. Re-exported by :mod:`store.model`, the store's records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from datetime import datetime

Scheme = Literal["basic", "bearer"]
SCHEMES: tuple[Scheme, ...] = ("basic", "bearer")


@dataclass(frozen=True, slots=True)
class Credential:
    """A decrypted credential as a lookup returns it."""

    service: str
    username: str | None
    scheme: Scheme
    secret: str | None = field(repr=False)
    expires_at: datetime | None = None

    @property
    def display(self) -> str:
        """``user@service`` as uv prints it."""
        return f"{self.username}@{self.service}" if self.username else self.service


@dataclass(frozen=True, slots=True)
class Ambiguous:
    """A lookup that named no username (or one stored under two keys) and that several stored
    usernames answer equally well: the caller must not guess. Made by the matching rules
    (:func:`store.lookup.find`), sent over the agent's wire as status ``ambiguous``, and turned
    into a message only by whoever shows it.

    ``usernames`` are the stored usernames in question, sorted; an entry without a username
    takes part in the tie but has no name to show.
    """

    service: str
    usernames: tuple[str, ...]

    @property
    def message(self) -> str:
        names = ", ".join(self.usernames) or "(none)"
        return (
            f"Multiple credentials found for URL {self.service} (usernames: {names}), "
            "specify which username to use"
        )
