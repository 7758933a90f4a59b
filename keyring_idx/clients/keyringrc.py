"""What ``idx-auth setup keyring`` writes into keyring's own config. Pure: text in, text out.

keyring reads one ``keyringrc.cfg`` per user, in every Python environment. Naming our backend
there directly (``default-keyring = keyring_idx.backend.IdxKeyring``) makes keyring fail with
"No module named 'keyring_idx'" in each environment that lacks us: poetry, hatch or twine
installed as tools, anybody's project venv. So the file names a selector module instead, kept
in a directory of its own that keyring puts on ``sys.path`` (``keyring-path``): where
keyring_idx imports, the selector *is* our backend (no other backend is imported, the speed-up
the file is for); where it does not, it hands back what keyring would have chosen with no
config file at all.
"""

from __future__ import annotations

import configparser
import io
from dataclasses import dataclass

BACKEND = "keyring_idx.backend.IdxKeyring"
SELECTOR_MODULE = "idx_auth_keyring"
SELECTOR = f"{SELECTOR_MODULE}.Selected"
#: The directory beside keyringrc.cfg that holds only the selector module.
SELECTOR_DIR = "idx-auth-selector"

# Runs in every environment's keyring, whatever its version: stdlib and keyring's public
# module-level helpers only; nothing at import beyond the one guarded import.
SELECTOR_SOURCE = '''\
"""Written by `idx-auth setup keyring`; keyringrc.cfg names it as default-keyring.

Where keyring-idx is installed this is its backend; elsewhere keyring chooses as if there
were no keyringrc.cfg, so environments without keyring-idx keep working. Delete this
directory and the two lines in keyringrc.cfg to undo.
"""

try:
    from keyring_idx.backend import IdxKeyring as Selected
except ImportError:
    from keyring import backend as _backend
    from keyring.backends import fail as _fail

    class Selected:  # type: ignore[no-redef]
        """keyring's own choice: the viable backend of highest priority."""

        priority = 1

        def __new__(cls):  # returns another class's instance, as keyring's detection does
            limit = getattr(_backend, "_limit", None)
            return max(
                filter(limit, _backend.get_all_keyring()),
                default=_fail.Keyring(),
                key=_backend.by_priority,
            )
'''


class KeyringrcError(Exception):
    """keyringrc.cfg cannot be changed as asked; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Plan:
    """The new file text (None: nothing to change) and the choice it replaces, if any."""

    text: str | None
    replaced: str | None


def plan(text: str | None, selector_dir: str, force: bool) -> Plan:
    """Point ``default-keyring`` at the selector and ``keyring-path`` at its directory.

    Other sections and options are kept. A file written by an older ``setup keyring`` (our
    backend named directly) is upgraded without ``force``; another backend or another
    ``keyring-path`` is replaced only with ``force``.
    """
    config = configparser.RawConfigParser()
    if text is not None:
        try:
            config.read_string(text)
        except configparser.Error as exc:
            first = str(exc).splitlines()[0]
            raise KeyringrcError(
                f"keyringrc.cfg is not a valid INI file ({first}); fix or remove it"
            ) from None
    current = _option(config, "default-keyring")
    path = _option(config, "keyring-path")
    if current == SELECTOR and path == selector_dir:
        return Plan(None, current)
    if not force:
        if current not in (None, BACKEND, SELECTOR):
            raise KeyringrcError(
                f"keyring is already set to use {current}; rerun with --force to replace it "
                f"(keyring-idx's selector falls back to keyring's own choice where it is not "
                "installed)"
            )
        if path not in (None, selector_dir):
            raise KeyringrcError(
                f"keyringrc.cfg already sets keyring-path = {path}; keyring takes only one, "
                "so rerun with --force to replace it"
            )
    if not config.has_section("backend"):
        config.add_section("backend")
    config.set("backend", "default-keyring", SELECTOR)
    config.set("backend", "keyring-path", selector_dir)
    out = io.StringIO()
    config.write(out)
    return Plan(out.getvalue(), current)


def selects_backend_directly(text: str) -> bool:
    """An older ``setup keyring`` file, which breaks every environment without keyring-idx."""
    config = configparser.RawConfigParser()
    try:
        config.read_string(text)
    except configparser.Error:
        return False
    return _option(config, "default-keyring") == BACKEND


def chooses_us(text: str) -> bool | None:
    """Whether a keyringrc.cfg makes keyring load our backend where keyring-idx is installed:
    True for the selector (or our backend named directly), False for another choice, None
    when the file chooses nothing (keyring then takes the highest priority: the chainer,
    which asks us first)."""
    config = configparser.RawConfigParser()
    try:
        config.read_string(text)
    except configparser.Error:
        return False
    chosen = _option(config, "default-keyring")
    if chosen is None:
        return None
    return chosen in (BACKEND, SELECTOR)


def _option(config: configparser.RawConfigParser, name: str) -> str | None:
    if config.has_option("backend", name):
        return config.get("backend", name).strip() or None
    return None
