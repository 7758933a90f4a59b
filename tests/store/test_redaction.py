"""Text from outside made safe to store, print and log."""

from __future__ import annotations

import base64
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from store.redaction import REDACTED, printable, scrub, summary

SECRET = "cl!ent s3cret/+="


def test_printable_escapes_what_moves_the_terminal() -> None:
    assert printable("bob\x1b[2J\r\nroot") == "bob\\x1b[2J\\x0d\\x0aroot"
    assert printable("a\u202eexe.txt") == "a\\u202eexe.txt"  # bidi override
    assert printable("ümlaut ok") == "ümlaut ok"
    assert printable("x" * 50, limit=10) == "xxxxxxx..."


def test_scrub_takes_out_a_secret_in_the_forms_it_travels_in() -> None:
    forms = [
        SECRET,
        quote(SECRET, safe=""),
        base64.b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
    ]
    for form in forms:
        assert scrub(f"echo: <{form}>", [SECRET]) == f"echo: <{REDACTED}>", form


def test_scrub_takes_out_credentials_after_a_scheme_word() -> None:
    text = "sent Authorization: Bearer eyJ0eXAi.x9 and Basic YWxhZGRpbjpvcGVu, token=abc123def"
    cleaned = scrub(text)
    assert "eyJ0" not in cleaned and "YWxh" not in cleaned and "abc123def" not in cleaned
    # Our own words stay readable.
    assert scrub("the token endpoint refused; Bearer scheme") == (
        "the token endpoint refused; Bearer scheme"
    )


def test_summary_is_one_bounded_clean_line() -> None:
    text = f"refused\n\x1b[31mFAKE: ok {SECRET}\n" + "y" * 1000
    line = summary(text, [SECRET])
    assert "\n" not in line and "\x1b" not in line and SECRET not in line
    assert len(line) <= 300


@given(st.text(), st.lists(st.text(min_size=6), max_size=3))
def test_summary_never_leaks_a_known_secret_or_a_control_character(
    text: str, secrets: list[str]
) -> None:
    line = summary(text + "".join(secrets), secrets, limit=10_000)
    assert line.isprintable()
    for secret in secrets:
        # A secret whose characters are themselves escaped cannot appear either way.
        assert secret not in line or not secret.isprintable() or secret in REDACTED
