"""When an unlocked passphrase store locks itself again. Pure: times are injected.

Like gpg-agent's cache: each use resets an idle time-out, and a hard maximum counts from the
unlock regardless of use.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

DEFAULT_IDLE = 600.0
DEFAULT_MAX = 7200.0


@dataclass(frozen=True, slots=True)
class UnlockTimer:
    """When an unlocked passphrase store locks itself again."""

    unlocked_at: float
    last_used: float
    idle: float = DEFAULT_IDLE
    maximum: float = DEFAULT_MAX

    def expires_at(self) -> float:
        return min(self.last_used + self.idle, self.unlocked_at + self.maximum)

    def expired(self, now: float) -> bool:
        return now >= self.expires_at()

    def touched(self, now: float) -> UnlockTimer:
        return replace(self, last_used=max(self.last_used, now))


def start(now: float, idle: float = DEFAULT_IDLE, maximum: float = DEFAULT_MAX) -> UnlockTimer:
    if idle <= 0 or maximum <= 0:
        raise ValueError("idle and maximum time-outs must be positive")
    return UnlockTimer(now, now, idle, maximum)
