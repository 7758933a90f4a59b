"""store.leanjson is json.loads / json.dumps, without importing json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store import leanjson

scalars = st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
flat = st.dictionaries(st.text(), st.none() | st.booleans() | st.integers() | st.text())


@given(values)
def test_loads_reads_what_json_writes(value: Any) -> None:
    for text in (json.dumps(value), json.dumps(value, indent=1, ensure_ascii=False)):
        assert leanjson.loads(text) == json.loads(text)


@given(st.text())
def test_loads_accepts_and_refuses_what_json_does(text: str) -> None:
    try:
        expected = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):
            leanjson.loads(text)
    else:
        got = leanjson.loads(text)
        assert got == expected or (got != got and expected != expected)  # NaN


@given(flat)
def test_dumps_writes_what_json_writes(value: dict[str, Any]) -> None:
    assert leanjson.dumps(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert leanjson.dumps(value, separators=(", ", ": "), ensure_ascii=True) == json.dumps(value)


@given(values)
def test_dumps_hands_the_rest_to_json(value: Any) -> None:
    assert leanjson.dumps(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize(
    "text", ["", " ", "\ufeff{}", "{} x", "[" * 100_000, '{"a": 1', "NaN x", "'a'", "{'a': 1}"]
)
def test_refusals_are_value_errors(text: str) -> None:
    with pytest.raises(ValueError):
        leanjson.loads(text)


def test_neither_json_nor_re_is_imported() -> None:
    code = (
        "import sys\n"
        "from store import leanjson\n"
        'leanjson.loads(\'{"a": [1, 2.5, null, true, "\\\\u00e9"]}\')\n'
        "leanjson.dumps({'op': 'get', 'service': 'x', 'username': None})\n"
        "print(sorted(m for m in ('json', 're', 'enum', 'typing') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.stdout.strip() == "[]", done.stderr
