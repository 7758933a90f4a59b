"""The keyring backend: uv, pip, twine and poetry read the idx-auth store through ``keyring``.

keyring imports every installed plugin on every default run, so importing this module costs
next to nothing: the standard library and keyring (already loaded by then). A lookup goes
through :func:`store.access.get_credential`, like every other reader of the store: the agent
first (its stdlib-only client is imported only when its socket exists), the store file itself
(tomllib, cryptography) only when no agent answered.

A lookup never raises: an exception would abort keyring's chainer and make pip switch keyring
off for the whole run. Failures return None and are logged at debug level; a store that cannot
be read, or an agent holding it locked, is also named once on stderr, since a silent 401
explains nothing.

Writes (``keyring set`` / ``keyring del``): index URLs (``http(s)://...``) go to the store
under the key ``idx-auth login`` and ``uv auth login`` use (a trailing ``/simple`` dropped), so
uv's prefix lookup finds them for the index and its files. Other names depend on the ``scope``
property (``KEYRING_PROPERTY_SCOPE``): ``indexes`` (default) leaves them to the next backend by
raising NotImplementedError; ``all`` keeps them as plain entries in the store.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from typing import TYPE_CHECKING

from jaraco.classes import properties
from keyring import backend, credentials, errors

if TYPE_CHECKING:
    from store.model import Ambiguous
    from store.service import ServiceUrl


__all__ = ["IdxKeyring"]

log = logging.getLogger(__name__)

SCOPES = ("indexes", "all")
_warned_store = False


class IdxKeyring(backend.KeyringBackend):
    """Credentials for package indexes from the encrypted idx-auth store (or its agent)."""

    #: ``indexes`` or ``all``; set with ``KEYRING_PROPERTY_SCOPE`` or ``with_properties``.
    scope: str = "indexes"

    @properties.classproperty
    def priority(cls) -> float:
        # Just under the chainer (10): with other backends installed the chainer asks us first.
        return 9.5

    # -- reading ----------------------------------------------------------------------------

    def get_password(self, service: str, username: str) -> str | None:
        found = _lookup(service, username or None)
        return None if found is None else found[1]

    def get_credential(self, service: str, username: str | None) -> credentials.Credential | None:
        # The base class answers nothing without a username; uv (authenticate = "always") and
        # pip always ask without one. pdm runs `keyring --mode=creds get URL ""`: an empty
        # username means none too.
        username = username or None
        found = _lookup(service, username)
        if found is None:
            return None
        return credentials.SimpleCredential(username or found[0], found[1])

    # -- writing ----------------------------------------------------------------------------

    def set_password(self, service: str, username: str, password: str) -> None:
        target = self._target(service)
        try:
            from store.vault import Vault

            if target is None:
                Vault().login(service, username, password, plain=True)
            else:
                Vault().login(target.service, username, password)
        except Exception as exc:
            raise errors.PasswordSetError(f"idx-auth: cannot store the password: {exc}") from None

    def delete_password(self, service: str, username: str) -> None:
        target = self._target(service)
        try:
            from store.errors import NotFoundError
            from store.vault import Vault

            if target is None:
                Vault().logout(service, username, plain=True)
            else:
                Vault().logout(target.service, username)
        except NotFoundError:
            raise errors.PasswordDeleteError("Password not found") from None
        except Exception as exc:
            raise errors.PasswordDeleteError(f"idx-auth: cannot delete: {exc}") from None

    def _target(self, service: str) -> ServiceUrl | None:
        """The index key for ``service``, or None for a plain name we keep (scope ``all``);
        NotImplementedError hands a plain name to the next backend (scope ``indexes``)."""
        target = index_service(service)
        if target is None and self._scope() != "all":
            message = (
                f"idx-auth keeps only index URLs (http:// or https://) and {service!r} is not "
                "one; give the index URL, or set KEYRING_PROPERTY_SCOPE=all to keep other "
                "names in the store too"
            )
            if _alone_under_the_keyring_command(self):
                # No other backend will take it, and keyring's command would print our
                # NotImplementedError as a traceback: one line and exit status 2 instead.
                from store.redaction import printable

                print(printable(f"keyring: error: {message}"), file=sys.stderr)
                raise SystemExit(2)
            raise NotImplementedError(message)
        return target

    def _scope(self) -> str:
        value = str(self.scope).strip().lower()
        if value not in SCOPES:
            log.debug("unknown scope %r; using 'indexes'", self.scope)
            return "indexes"
        return value


def _alone_under_the_keyring_command(ring: IdxKeyring) -> bool:
    """This process is the ``keyring`` command and we are its backend, not one link of the
    chainer (where NotImplementedError hands the name to the next backend)."""
    if "keyring.cli" not in sys.modules:
        return False
    if os.path.basename(sys.argv[0] if sys.argv else "") not in ("keyring", "__main__.py"):
        return False
    import keyring

    return keyring.get_keyring() is ring


def index_service(service: str) -> ServiceUrl | None:
    """An ``http(s)://`` service as uv's login stores it (``/simple`` dropped), or None.

    Only strings with an explicit scheme count: a bare name such as ``pypi.example.com`` might
    be any keyring service, so it stays a plain name (which still answers uv's host lookup).
    """
    if not service.lower().startswith(("http://", "https://")):
        return None
    from store.errors import InvalidServiceError
    from store.service import parse_login_service

    try:
        return parse_login_service(service).without_userinfo()
    except InvalidServiceError:
        return None


def _lookup(service: str, username: str | None) -> tuple[str, str] | None:
    """``(username, secret)`` for a lookup, or None. Never raises."""
    # The first lookup imports the store (modules, classes: objects that live as long as the
    # process); pausing the cyclic collector meanwhile spares it walking them over and over.
    # It is switched back on before returning, whatever happens.
    collecting = gc.isenabled()
    gc.disable()
    try:
        from store.access import get_credential
        from store.errors import AgentLockedError

        try:
            found = get_credential(service, username)
        except AgentLockedError:
            # A passphrase file opens the store here, without the agent; else say why
            # nothing came, once, instead of a silent 401.
            if not os.environ.get("IDX_AUTH_PASSPHRASE_FILE"):
                _say_once("idx-auth: the agent is locked: run `idx-auth unlock`")
                return None
            found = get_credential(service, username, use_agent=False)
        if found is None:
            return None
        from store.model import Ambiguous

        if isinstance(found, Ambiguous):
            if username is None:
                print(ambiguity_hint(found), file=sys.stderr)
            return None
        return (found.username or "", found.secret or "")
    except Exception as exc:
        _report(exc)
        return None
    finally:
        if collecting:
            gc.enable()


def ambiguity_hint(found: Ambiguous) -> str:
    from store.redaction import printable

    # Usernames come from the store (or the agent): escaped, so none can forge a line.
    return printable(
        f"idx-auth: several usernames stored for {_redact(found.service)}: "
        f"{', '.join(found.usernames)}; "
        "tell uv which one (UV_INDEX_<NAME>_USERNAME or user@ in the URL)"
    )


def _report(exc: Exception) -> None:
    try:
        from store.errors import StoreError

        # Our errors are written to be shown; a foreign one's text might quote a secret.
        shown = str(exc) if isinstance(exc, StoreError) else "(details withheld)"
        log.debug("idx-auth lookup failed: %s: %s", type(exc).__name__, shown)
        if isinstance(exc, StoreError):
            _say_once(f"idx-auth: credential store unavailable: {exc}")
    except Exception:  # reporting must not turn a quiet None into a crash
        pass


def _say_once(line: str) -> None:
    """One line on stderr per process: a client asks several forms of a URL in a row."""
    global _warned_store
    if not _warned_store:
        _warned_store = True
        from store.redaction import printable

        # An error's text may quote a service name from the store: escaped, so none can
        # forge a line.
        print(printable(line), file=sys.stderr)


def _redact(service: str) -> str:
    at = service.rfind("@")
    sep = service.find("://")
    if at < 0:
        return service
    start = sep + 3 if 0 <= sep < at else 0
    return f"{service[:start]}***{service[at:]}"
