"""JSON through the C accelerator that :mod:`json` itself uses, without importing :mod:`json`.
Pure: text in, values out.

Importing :mod:`json` pulls in :mod:`re` and :mod:`enum` (its decoder compiles regular
expressions at import time): on these machines about as long as starting Python itself. The
processes that must start in a few milliseconds -- the ``keyring`` launcher, and ``idx-auth
token``/``list``/``run`` answered by the agent -- speak JSON with the agent through this module
instead. :func:`loads` is ``json.loads`` on ``str`` (same scanner, same results, ``ValueError``
on the same inputs, and also for nesting too deep, where ``json.loads`` lets RecursionError
escape); :func:`dumps` writes flat objects of strings, None, booleans and integers
itself and hands anything else to :mod:`json`. Without the accelerator (not CPython) both use
:mod:`json`.
"""

from __future__ import annotations

TYPE_CHECKING = False  # see store.agent.wire: typing is not imported at run time
if TYPE_CHECKING:
    from typing import Any

try:
    import _json
except ImportError:  # pragma: no cover - CPython always has it
    _json = None  # type: ignore[assignment]

_WHITESPACE = " \t\n\r"
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _Context:
    """What the C scanner reads from a ``json.JSONDecoder``: its default settings."""

    __slots__ = ()
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


# typeshed types the argument as the scanner class; the C code reads only these attributes.
_scan = _json.make_scanner(_Context()) if _json is not None else None  # type: ignore[arg-type]


def loads(text: str) -> Any:
    """``json.loads(text)``; ValueError for anything that is not one JSON value."""
    if _scan is None:  # pragma: no cover
        import json

        return json.loads(text)
    if text.startswith("\ufeff"):
        raise ValueError("unexpected byte order mark")
    end = len(text)
    idx = 0
    while idx < end and text[idx] in _WHITESPACE:
        idx += 1
    try:
        value, idx = _scan(text, idx)
    except StopIteration:
        raise ValueError("expecting a JSON value") from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    while idx < end and text[idx] in _WHITESPACE:
        idx += 1
    if idx != end:
        raise ValueError("extra data after the JSON value")
    return value


def dumps(
    value: Any, *, separators: tuple[str, str] = (",", ":"), ensure_ascii: bool = False
) -> str:
    """``json.dumps(value, separators=..., ensure_ascii=...)``."""
    if _json is not None and type(value) is dict:
        encode = _json.encode_basestring_ascii if ensure_ascii else _json.encode_basestring
        item, key = separators
        parts: list[str] = []
        for k, v in value.items():
            if type(k) is not str:
                break
            if type(v) is str:
                text = encode(v)
            elif v is None:
                text = "null"
            elif v is True or v is False:
                text = "true" if v else "false"
            elif type(v) is int:
                text = str(v)
            else:
                break
            parts.append(f"{encode(k)}{key}{text}")
        else:
            return "{" + item.join(parts) + "}"
    import json

    return json.dumps(value, separators=separators, ensure_ascii=ensure_ascii)
