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
        return provider.fetch(spec, ctx)
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
