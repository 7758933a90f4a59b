"""Text from outside made safe to store, print and log (pure, stdlib only).

Usernames, service names and a provider's words come from files, sockets and servers we do not
control. Shown raw, a control character rewrites the terminal (ANSI escapes, a carriage return
or newline that forges a second line); kept raw, an echoing token endpoint stores our own
client secret beside the entry. :func:`printable` escapes what is not plain text and bounds the
length; :func:`scrub` takes known secrets (and the encodings they travel in) out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[redacted]"
# Shorter values would match ordinary words; such a secret is not worth keeping out anyway.
MIN_SECRET = 6
# `Authorization: Basic ...`, `Bearer ...`, `token=...` and friends: the value after a scheme
# word or a key, when it looks like a credential (see _looks_secret), so "Bearer scheme" stays.
_CREDENTIAL = re.compile(
    r"(?i)\b((?:basic|bearer|digest|negotiate)\s+"
    r"|(?:token|access_token|refresh_token|password|secret|client_secret|api_key)\s*[=:]\s*)"
    r"([A-Za-z0-9._~+/=-]{6,})"
)


def _looks_secret(value: str) -> bool:
    """A digit, or 12+ characters in both cases: tokens and base64, not English words."""
    if any(ch.isdigit() for ch in value):
        return True
    return len(value) >= 12 and not value.islower() and not value.isupper()


def _escape(ch: str) -> str:
    code = ord(ch)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def printable(text: str, limit: int | None = None) -> str:
    """``text`` as one line of plain text: every character that is not printable (control
    characters, escape sequences, line and paragraph separators, bidi overrides) shown as a
    Python-style escape; cut to ``limit`` characters with ``...``."""
    out = (
        text
        if text.isprintable()
        else "".join(ch if ch.isprintable() else _escape(ch) for ch in text)
    )
    if limit is not None and len(out) > limit:
        out = out[: max(0, limit - 3)] + "..."
    return out


def variants(secret: str) -> set[str]:
    """``secret`` and the forms it is sent in: URL-encoded, base64 (standard and URL-safe,
    with and without padding)."""
    if len(secret) < MIN_SECRET:
        return set()
    import base64  # here, not at the top: every CLI start imports this module for printable
    from urllib.parse import quote, quote_plus

    raw = secret.encode("utf-8", "surrogatepass")
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        encoded = encode(raw).decode("ascii")
        forms.update({encoded, encoded.rstrip("=")})
    return {f for f in forms if len(f) >= MIN_SECRET}


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every known secret (in any of its :func:`variants`) and every credential
    that follows an auth scheme word (``Bearer xyz``, ``token=xyz``) replaced by REDACTED."""
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms |= variants(secret)
    # Longest first: a secret's base64 may contain a shorter secret.
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return _CREDENTIAL.sub(
        lambda m: m.group(1) + REDACTED if _looks_secret(m.group(2)) else m.group(0), text
    )


def summary(text: str, secrets: Iterable[str | None] = (), limit: int = 300) -> str:
    """What may be stored or shown of a message that can quote a provider: known secrets
    scrubbed, whitespace runs folded to one space, the rest made :func:`printable`, bounded."""
    flat = " ".join(scrub(text, secrets).split())
    return printable(flat, limit)
