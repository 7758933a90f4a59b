"""Short-lived tokens: when to refresh them (pure) and the providers that mint them.

What callers use:

* :class:`~store.refresh.spec.ProviderSpec` -- an entry's provider settings (``refresh`` table);
* :class:`~store.refresh.token.Token` -- a secret with its expiry;
* :class:`~store.refresh.state.RefreshState` with ``state_fields`` / ``state_from_fields``;
* :func:`~store.refresh.routine.refresh` (one step: decide, fetch, fold) and
  :func:`~store.refresh.routine.first_token` (login);
* :mod:`store.refresh.schedule` -- the pure timing rules and :class:`~.schedule.Reason`.
"""

#: Every token provider, by the name ``--provider`` and the store file use. A provider is the
#: module ``store.refresh.providers.<name>``; the CLI reads this list without importing one.
PROVIDER_NAMES = ("command", "oauth2", "codeartifact", "gcp", "azure", "vault")
