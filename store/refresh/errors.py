"""The refresh package's exception tree. Pure: exception classes only.

Each message names the provider, what failed and the fix; none carries a token or a client
secret. Foreign exceptions (subprocess, httpx, botocore, google-auth, azure-identity) are
translated into these at the provider boundary.
"""

from __future__ import annotations

from collections.abc import Iterable

from store.errors import StoreError


class RefreshError(StoreError):
    """Base of every error raised while configuring a provider or fetching a token."""

    def __init__(self, provider: str, message: str) -> None:
        self.provider = provider
        super().__init__(f"{provider} provider: {message}")

    def redacted(self, secrets: Iterable[str | None]) -> RefreshError:
        """This error, its message made a bounded, printable line with ``secrets`` scrubbed
        out: the form that may be stored in ``last-error``, shown or logged."""
        from store.redaction import summary

        # Not copy.copy: it would call __init__ with the one-string args it finds.
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.args = (summary(str(self), secrets),)
        return clone


class ProviderConfigError(RefreshError):
    """The provider settings are incomplete or invalid (bad URL, unknown option, bad number)."""


class ProviderUnavailableError(RefreshError):
    """The provider's SDK (an optional extra) is not installed."""

    def __init__(self, provider: str, extra: str, module: str) -> None:
        self.extra = extra
        super().__init__(
            provider,
            f"needs the Python package {module!r}, which is not installed; "
            f"install it with: pip install 'keyring-idx[{extra}]' "
            f"(or: uv tool install 'keyring-idx[{extra}]')",
        )


class TokenFetchError(RefreshError):
    """The provider ran but did not produce a usable token (denied, unreachable, garbage)."""


class UnknownProviderError(ProviderConfigError):
    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        self.provider = name
        # Not "NAME provider: ..." -- there is no such provider to speak for.
        StoreError.__init__(
            self, f"unknown token provider {name!r}; choose one of: {', '.join(known)}"
        )
