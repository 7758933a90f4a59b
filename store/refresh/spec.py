"""How an entry's token is obtained: the provider name and its settings. Pure values.

In the store file a spec is the entry's ``refresh`` table of strings: ``provider`` plus the
settings. Secret settings (``client-secret``) appear there as ``secret-client-secret``: the
store seals every key with the ``secret-`` prefix (``store.sealing.REFRESH_SECRET_PREFIX``)
like the main secret, without knowing the providers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from store.refresh.errors import ProviderConfigError

PROVIDER_KEY = "provider"
# Flat keys with this prefix hold secrets: sealed in the file, never printed, never in argv.
SECRET_PREFIX = "secret-"
# Keys the refresh routine keeps beside the settings (see store.refresh.state); not settings.
STATE_KEYS = frozenset({"refreshed-at", "refresh-by", "last-error", "failures"})

Pairs = tuple[tuple[str, str], ...]


def is_secret_key(key: str) -> bool:
    """Whether a flat ``refresh`` table key holds a secret."""
    return key.startswith(SECRET_PREFIX)


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """How an entry's token is refreshed: the provider and its settings."""

    provider: str
    settings: Pairs = ()
    secrets: Pairs = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if not self.provider:
            raise ProviderConfigError("(none)", "the provider name is empty")
        for key, _ in self.settings + self.secrets:
            if is_secret_key(key) or key == PROVIDER_KEY or key in STATE_KEYS or not key:
                raise ValueError(f"{key!r} is reserved and cannot be a setting")

    @classmethod
    def build(
        cls,
        provider: str,
        settings: Mapping[str, str | None] | None = None,
        secrets: Mapping[str, str | None] | None = None,
    ) -> ProviderSpec:
        """A spec from mappings; ``None`` values are left out."""
        return cls(provider, _pairs(settings or {}), _pairs(secrets or {}))

    def get(self, key: str, default: str | None = None) -> str | None:
        for k, v in self.settings:
            if k == key:
                return v
        return default

    def secret(self, key: str) -> str | None:
        for k, v in self.secrets:
            if k == key:
                return v
        return None

    def require(self, key: str) -> str:
        value = self.get(key)
        if not value:
            raise ProviderConfigError(self.provider, f"the setting {key!r} is missing")
        return value

    def to_flat(self) -> dict[str, str]:
        """``provider``, the settings, and the secrets under ``secret-`` keys: the ``refresh``
        table before the store seals its :func:`is_secret_key` values."""
        flat = {PROVIDER_KEY: self.provider}
        flat.update(self.settings)
        flat.update((SECRET_PREFIX + k, v) for k, v in self.secrets)
        return flat

    @classmethod
    def from_flat(cls, flat: Mapping[str, str] | Iterable[tuple[str, str]]) -> ProviderSpec:
        """The spec in a ``refresh`` table (secrets already unsealed); state keys are skipped."""
        items = dict(flat.items() if isinstance(flat, Mapping) else flat)
        provider = items.pop(PROVIDER_KEY, "")
        if not provider:
            raise ProviderConfigError("(none)", "the refresh table has no 'provider' key")
        settings = {k: v for k, v in items.items() if not is_secret_key(k) and k not in STATE_KEYS}
        secrets = {k[len(SECRET_PREFIX) :]: v for k, v in items.items() if is_secret_key(k)}
        return cls.build(provider, settings, secrets)


def _pairs(mapping: Mapping[str, str | None]) -> Pairs:
    return tuple(sorted((k, v) for k, v in mapping.items() if v is not None))
