"""The agent's store backend over :mod:`store.vault` (the real credential store)."""

from __future__ import annotations

import importlib.util

from store.agent.backend import Backend
from store.agent.errors import AgentSetupError
from store.dirs import Dirs


def open_backend(dirs: Dirs) -> Backend:
    if importlib.util.find_spec("store.vault") is None:
        raise AgentSetupError(
            "this build has no credential store core (store.vault); install a complete "
            "keyring-idx release"
        )
    raise AgentSetupError("the store core is not wired to the agent yet")
