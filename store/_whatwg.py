"""The slice of the WHATWG URL standard that uv's service parsing goes through.

uv parses services with the Rust ``url`` crate (WHATWG semantics). Python's ``urllib.parse``
differs in enough places (IPv4 shorthand, dot segments, backslashes, percent-encoding sets, IDNA)
that the keys would drift apart, so the parts that matter for ``http``/``https`` are spelled out
here. Only special-scheme (``http``/``https``) parsing is implemented; other schemes are reported
by name and not parsed further, which is all a caller that rejects them needs.

Pure functions; ``idna`` (a dependency of httpx) is imported only for non-ASCII host names.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

__all__ = ["UrlParts", "UrlSyntaxError", "split_url"]

DEFAULT_PORTS = {"http": 80, "https": 443}

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*:")
_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")
# C0 controls and space, stripped from both ends of the input.
_C0_SPACE = "".join(chr(i) for i in range(0x21))

_FORBIDDEN_HOST = frozenset("\x00\t\n\r #/:<>?@[\\]^|")
_FORBIDDEN_DOMAIN = _FORBIDDEN_HOST | frozenset(chr(i) for i in range(0x20)) | {"%", "\x7f"}

# Percent-encode sets beyond the C0 control set (which every set includes), as uv's url crate
# applies them to special URLs.
_PATH_SET = frozenset(' "#<>?`{}')
_QUERY_SET = frozenset(" \"#<>'")
_FRAGMENT_SET = frozenset(' "<>`')

_SINGLE_DOT = frozenset({".", "%2e"})
_DOUBLE_DOT = frozenset({"..", ".%2e", "%2e.", "%2e%2e"})


class UrlSyntaxError(ValueError):
    """The input is not a valid URL; ``problem`` says why, ``fix`` (may be empty) what to do."""

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


@dataclass(frozen=True, slots=True)
class UrlParts:
    """A parsed URL. For schemes other than http/https only ``scheme`` (and
    ``scheme_looks_like_host``) are meaningful."""

    scheme: str
    host: str = ""
    port: int | None = None
    path: str = "/"
    query: str | None = None
    fragment: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    # "example.com:8080" parses as scheme "example.com"; callers word their error differently.
    scheme_looks_like_host: bool = False


def _encode(text: str, extra: frozenset[str]) -> str:
    out: list[str] = []
    for ch in text:
        if ch < " " or ch > "~" or ch in extra:
            try:
                data = ch.encode("utf-8")
            except UnicodeEncodeError:
                raise UrlSyntaxError(
                    "contains a character that is not valid Unicode", "retype the URL"
                ) from None
            out.extend(f"%{b:02X}" for b in data)
        else:
            out.append(ch)
    return "".join(out)


def _percent_decode(text: str) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b == 0x25 and i + 2 < len(data) and _is_hex(data[i + 1 : i + 3]):
            out.append(int(data[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(b)
            i += 1
    return bytes(out)


def _is_hex(pair: bytes) -> bool:
    return len(pair) == 2 and all(c in b"0123456789abcdefABCDEF" for c in pair)


def _decode_userinfo(text: str) -> str | None:
    if not text:
        return None
    return _percent_decode(text).decode("utf-8", "replace")


def split_url(raw: str) -> UrlParts:
    """Parse ``raw`` as uv parses a service: as-is if it has a scheme, else as ``https://raw``."""
    text = raw.strip(_C0_SPACE).translate(_TAB_NEWLINE)
    match = _SCHEME.match(text)
    if match is None:
        # uv retries a "relative URL without a base" with https:// in front of the raw input,
        # so leading blanks end up inside the host (and make it invalid).
        text = ("https://" + raw).strip(_C0_SPACE).translate(_TAB_NEWLINE)
        match = _SCHEME.match(text)
        assert match is not None
    scheme = match.group()[:-1].lower()
    rest = text[match.end() :]
    if scheme not in DEFAULT_PORTS:
        looks_like_host = "." in scheme or re.match(r"\d+(?:[/?#]|$)", rest) is not None
        return UrlParts(scheme=scheme, scheme_looks_like_host=looks_like_host)
    return _split_special(scheme, rest)


def _split_special(scheme: str, rest: str) -> UrlParts:
    rest = rest.lstrip("/\\")
    end = len(rest)
    for i, ch in enumerate(rest):
        if ch in "/\\?#":
            end = i
            break
    authority, rest = rest[:end], rest[end:]

    username = password = None
    at = authority.rfind("@")
    if at >= 0:
        userinfo, authority = authority[:at], authority[at + 1 :]
        user, colon, secret = userinfo.partition(":")
        username = _decode_userinfo(user)
        password = _decode_userinfo(secret) if colon else None
        if not authority:
            raise UrlSyntaxError("empty host", "put the host name after the '@'")

    host_text, port = _split_port(scheme, authority)
    if not host_text:
        raise UrlSyntaxError("empty host", "")
    host = _parse_host(host_text)

    fragment = None
    hash_at = rest.find("#")
    if hash_at >= 0:
        fragment = _encode(rest[hash_at + 1 :], _FRAGMENT_SET)
        rest = rest[:hash_at]
    query = None
    q_at = rest.find("?")
    if q_at >= 0:
        query = _encode(rest[q_at + 1 :], _QUERY_SET)
        rest = rest[:q_at]
    path = _parse_path(rest)

    if password is None and (_colon_then_at(path) or _colon_then_at(fragment)):
        raise UrlSyntaxError(
            "ambiguous user/pass authority (a ':' and '@' after the host)",
            "percent-encode '/', ':' and '@' inside a username or password (%2F, %3A, %40)",
        )
    return UrlParts(scheme, host, port, path, query, fragment, username, password)


def _colon_then_at(text: str | None) -> bool:
    """uv's guess at credentials that slipped past the authority: a ':' with an '@' somewhere
    after it. A ':' that starts '://' (a URL embedded in the path) does not count."""
    if text is None:
        return False
    start = 0
    while (colon := text.find(":", start)) >= 0:
        if not text.startswith("//", colon + 1) and "@" in text[colon + 1 :]:
            return True
        start = colon + 1
    return False


def _split_port(scheme: str, authority: str) -> tuple[str, int | None]:
    in_brackets = False
    for i, ch in enumerate(authority):
        if ch == "[":
            in_brackets = True
        elif ch == "]":
            in_brackets = False
        elif ch == ":" and not in_brackets:
            digits = authority[i + 1 :]
            if digits and not (digits.isascii() and digits.isdigit()):
                raise UrlSyntaxError("invalid port number", "give a port from 1 to 65535")
            if not digits:
                return authority[:i], None
            number = int(digits)
            if number > 65535:
                raise UrlSyntaxError("invalid port number", "give a port from 1 to 65535")
            return authority[:i], None if number == DEFAULT_PORTS[scheme] else number
    return authority, None


def _parse_path(text: str) -> str:
    if text[:1] in ("/", "\\"):
        text = text[1:]
    segments: list[str] = []
    pieces = re.split(r"[/\\]", text)
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        lowered = piece.lower()
        if lowered in _DOUBLE_DOT:
            if segments:
                segments.pop()
            if last:
                segments.append("")
        elif lowered in _SINGLE_DOT:
            if last:
                segments.append("")
        else:
            segments.append(_encode(piece, _PATH_SET))
    return "/" + "/".join(segments)


# --- hosts -----------------------------------------------------------------------------------


def _parse_host(text: str) -> str:
    if text.startswith("["):
        if not text.endswith("]"):
            raise UrlSyntaxError("invalid IPv6 address", "close the address with ']'")
        return "[" + _parse_ipv6(text[1:-1]) + "]"
    domain = _percent_decode(text).decode("utf-8", "replace")
    ascii_domain = _domain_to_ascii(domain)
    if not ascii_domain:
        raise UrlSyntaxError("empty host", "")
    if any(ch in _FORBIDDEN_DOMAIN for ch in ascii_domain):
        raise UrlSyntaxError("invalid international domain name", "check the host name")
    if _ends_in_number(ascii_domain):
        return _parse_ipv4(ascii_domain)
    return ascii_domain


def _parse_ipv6(text: str) -> str:
    if "%" in text or not text.isascii():
        raise UrlSyntaxError("invalid IPv6 address", "check the address")
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        raise UrlSyntaxError("invalid IPv6 address", "check the address") from None
    hextets = [(address.packed[i] << 8) | address.packed[i + 1] for i in range(0, 16, 2)]
    # Compress the first longest run of two or more zero pieces, as WHATWG serialises.
    best_start, best_len, i = -1, 1, 0
    while i < 8:
        if hextets[i] == 0:
            j = i
            while j < 8 and hextets[j] == 0:
                j += 1
            if j - i > best_len:
                best_start, best_len = i, j - i
            i = j
        else:
            i += 1
    if best_start < 0:
        return ":".join(f"{h:x}" for h in hextets)
    head = ":".join(f"{h:x}" for h in hextets[:best_start])
    tail = ":".join(f"{h:x}" for h in hextets[best_start + best_len :])
    return f"{head}::{tail}"


def _ends_in_number(domain: str) -> bool:
    parts = domain.split(".")
    if parts[-1] == "":
        if len(parts) == 1:
            return False
        parts.pop()
    last = parts[-1]
    if last and last.isascii() and last.isdigit():
        return True
    return _ipv4_number(last) is not None


def _ipv4_number(text: str) -> int | None:
    if not text:
        return None
    radix = 10
    if text[:2] in ("0x", "0X"):
        text, radix = text[2:], 16
    elif len(text) > 1 and text[0] == "0":
        text, radix = text[1:], 8
    if not text:
        return 0
    allowed = {10: "0123456789", 16: "0123456789abcdefABCDEF", 8: "01234567"}[radix]
    if any(ch not in allowed for ch in text):
        return None
    return int(text, radix)


def _parse_ipv4(domain: str) -> str:
    parts = domain.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    numbers = [_ipv4_number(p) for p in parts]
    if len(parts) > 4 or any(n is None for n in numbers):
        raise UrlSyntaxError("invalid IPv4 address", "check the address")
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise UrlSyntaxError("invalid IPv4 address", "check the address")
    address = values[-1]
    for index, n in enumerate(values[:-1]):
        address += n * 256 ** (3 - index)
    return str(ipaddress.IPv4Address(address))


def _domain_to_ascii(domain: str) -> str:
    """UTS 46 ToASCII as WHATWG calls it (non-transitional, no STD3 rules, no length check)."""
    if domain.isascii():
        lowered = domain.lower()
        labels = lowered.split(".")
        if any(label.startswith("xn--") for label in labels):
            for label in labels:
                if label.startswith("xn--"):
                    _check_punycode_label(label)
            _check_unicode_labels([_to_unicode(label) for label in labels])
        return lowered
    try:
        import idna
    except ImportError:  # pragma: no cover - idna ships with httpx
        raise UrlSyntaxError(
            "non-ASCII host names need the 'idna' package", "install idna or use the xn-- form"
        ) from None
    try:
        mapped = idna.uts46_remap(domain, std3_rules=False, transitional=False)
    except (idna.IDNAError, ValueError):
        raise UrlSyntaxError("invalid international domain name", "check the host name") from None
    labels = mapped.split(".")
    for label in labels:
        if label.startswith("xn--"):
            _check_punycode_label(label)
    _check_unicode_labels([_to_unicode(label) for label in labels])
    return ".".join(
        label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
        for label in labels
    )


def _to_unicode(label: str) -> str:
    return label[4:].encode("ascii").decode("punycode") if label.startswith("xn--") else label


def _check_unicode_labels(labels: list[str]) -> None:
    """UTS 46 validity checks WHATWG turns on: no leading combining mark, CheckJoiners,
    CheckBidi (all labels, once any label is right-to-left)."""
    import unicodedata  # only international names get here; ASCII lookups skip the import

    import idna.core

    bad = UrlSyntaxError("invalid international domain name", "check the host name")
    rtl = any(unicodedata.bidirectional(ch) in ("R", "AL", "AN") for lb in labels for ch in lb)
    for label in labels:
        if not label:
            continue
        if unicodedata.category(label[0]).startswith("M"):
            raise bad
        try:
            for pos, ch in enumerate(label):
                if ch in "\u200c\u200d" and not idna.core.valid_contextj(label, pos):
                    raise bad
            if rtl:
                idna.core.check_bidi(label, check_ltr=True)
        except (idna.IDNAError, ValueError):
            raise bad from None


def _check_punycode_label(label: str) -> None:
    try:
        decoded = label[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        raise UrlSyntaxError("invalid international domain name", "check the host name") from None
    if not decoded or decoded.isascii():
        raise UrlSyntaxError("invalid international domain name", "check the host name")
    # The decoded label must already be in UTS 46 mapped form.
    import idna

    try:
        valid = idna.uts46_remap(decoded, std3_rules=False, transitional=False) == decoded
    except (idna.IDNAError, ValueError):
        valid = False
    if not valid:
        raise UrlSyntaxError("invalid international domain name", "check the host name")
