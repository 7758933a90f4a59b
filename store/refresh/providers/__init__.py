"""Token providers, each in its own module and loaded only when named.

Cloud SDKs are optional extras imported inside ``fetch``; importing this package or a provider
module costs nothing beyond the standard library.
"""

from __future__ import annotations

import importlib

from store.refresh import PROVIDER_NAMES
from store.refresh.errors import RefreshError, TokenFetchError, UnknownProviderError
from store.refresh.providers.base import FetchContext, Provider
from store.refresh.spec import ProviderSpec
from store.refresh.token import Token

__all__ = ["PROVIDER_NAMES", "FetchContext", "Provider", "fetch_token", "get_provider"]


# Real tokens (JWTs included) are a few KiB; this bounds what a provider can make us store.
MAX_TOKEN = 16 * 1024


def get_provider(name: str) -> Provider:
    if name not in PROVIDER_NAMES:
        raise UnknownProviderError(name, PROVIDER_NAMES)
    module = importlib.import_module(f"store.refresh.providers.{name}")
    provider: Provider = module.PROVIDER
    return provider


def fetch_token(spec: ProviderSpec, ctx: FetchContext) -> Token:
    """A fresh token from the provider ``spec`` names; every failure is a RefreshError."""
    provider = get_provider(spec.provider)
    provider.check(spec)
    try:
        token = provider.fetch(spec, ctx)
    except RefreshError:
        raise
    except Exception as exc:
        # A provider bug or an SDK error we did not foresee: name the type, never the text,
        # which might quote a request that carried a secret.
        raise TokenFetchError(
            spec.provider,
            f"failed unexpectedly ({type(exc).__name__}); this is a bug in keyring-idx, "
            "please report it",
        ) from None
    if len(token.secret) > MAX_TOKEN or not token.secret.isprintable():
        # Stored, decrypted and sent on every lookup: a huge or binary "token" is a
        # misconfigured or hostile provider, not a credential.
        raise TokenFetchError(
            spec.provider,
            f"returned a token of {len(token.secret)} characters, more than the "
            f"{MAX_TOKEN} accepted; check the provider"
            if len(token.secret) > MAX_TOKEN
            else "returned a token with control characters; check the provider",
        )
    return token
