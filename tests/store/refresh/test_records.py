"""Token, ProviderSpec and RefreshState records and their string forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.refresh.errors import ProviderConfigError
from store.refresh.spec import SECRET_PREFIX, ProviderSpec, is_secret_key
from store.refresh.state import RefreshState, parse_time, state_fields, state_from_fields
from store.refresh.token import DEFAULT_LIFETIME, Token
from store.sealing import REFRESH_SECRET_PREFIX

T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


def test_token_repr_hides_the_secret() -> None:
    tok = Token("hunter2-secret", T0 + timedelta(hours=1), T0)
    assert "hunter2" not in repr(tok)
    assert "hunter2" not in str(tok)
    assert "<redacted>" in repr(tok)


def test_token_needs_aware_times() -> None:
    with pytest.raises(ValueError, match="aware"):
        Token("x", datetime(2030, 1, 1))


def test_token_lifetime_defaults_without_issue_time() -> None:
    assert Token("x", T0).lifetime == DEFAULT_LIFETIME
    assert Token("x", T0 + timedelta(seconds=5), T0).lifetime == timedelta(seconds=5)


def test_spec_round_trips_through_the_flat_table_and_hides_secrets() -> None:
    spec = ProviderSpec.build(
        "oauth2",
        {"token-url": "https://idp.example/token", "client-id": "me", "scope": None},
        {"client-secret": "shh-very-secret"},
    )
    flat = spec.to_flat()
    assert flat == {
        "provider": "oauth2",
        "token-url": "https://idp.example/token",
        "client-id": "me",
        "secret-client-secret": "shh-very-secret",
    }
    assert [k for k in flat if is_secret_key(k)] == ["secret-client-secret"]
    # The store seals exactly these keys.
    assert SECRET_PREFIX == REFRESH_SECRET_PREFIX
    # The store keeps its history beside the settings; reading the spec skips it.
    stored = {**flat, "refreshed-at": "2030-01-01T00:00:00Z", "failures": "2"}
    assert ProviderSpec.from_flat(stored) == spec
    assert ProviderSpec.from_flat(sorted(stored.items())) == spec
    assert "shh" not in repr(spec)
    assert spec.secret("client-secret") == "shh-very-secret"
    assert spec.get("scope") is None


@given(
    st.dictionaries(
        st.text(alphabet="abcdefghij-", min_size=1, max_size=8).filter(
            lambda k: k not in ("provider", "failures") and not is_secret_key(k)
        ),
        st.text(max_size=20),
        max_size=6,
    ),
    st.text(min_size=1, max_size=10),
)
def test_spec_flat_round_trip(settings: dict[str, str], secret: str) -> None:
    spec = ProviderSpec.build("command", settings, {"client-secret": secret})
    assert ProviderSpec.from_flat(spec.to_flat()) == spec


def test_spec_rejects_misfiled_keys() -> None:
    with pytest.raises(ValueError, match="reserved"):
        ProviderSpec.build("oauth2", {"secret-x": "x"})
    with pytest.raises(ValueError, match="reserved"):
        ProviderSpec.build("oauth2", {"failures": "1"})
    with pytest.raises(ProviderConfigError, match="no 'provider'"):
        ProviderSpec.from_flat({"command": "x"})
    with pytest.raises(ProviderConfigError, match="'command' is missing"):
        ProviderSpec.build("command").require("command")


def test_state_fields_round_trip() -> None:
    tok = Token("s", T0 + timedelta(hours=1), T0)
    state = RefreshState(token=tok, failures=2, last_error="x\ny", last_success=T0)
    fields = state_fields(state)
    assert fields == {"refreshed-at": "2030-01-01T12:00:00Z", "last-error": "x y", "failures": "2"}
    back = state_from_fields(fields, "s", tok.expires_at)
    assert back.token == tok
    assert back.failures == 2 and back.last_error == "x y" and back.last_success == T0


def test_state_from_fields_tolerates_damaged_history() -> None:
    back = state_from_fields({"refreshed-at": "yesterday", "failures": "many"}, "s", T0)
    assert back.failures == 0 and back.last_success is None
    assert back.token == Token("s", T0)
    assert state_from_fields({}, None, None).token is None
    assert parse_time("2030-01-01T12:00:00") is None  # no zone: not RFC 3339
    assert parse_time("2030-01-01T12:00:00+02:00") == T0 - timedelta(hours=2)


def test_refresh_by_is_kept_in_the_refresh_table() -> None:
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    tok = Token("s", t0 + timedelta(days=1), t0, refresh_by=t0 + timedelta(minutes=5))
    fields = state_fields(RefreshState(token=tok, last_success=t0))
    assert fields["refresh-by"] == "2030-01-01T00:05:00Z"
    back = state_from_fields(fields, "s", tok.expires_at).token
    assert back is not None and back.refresh_by == tok.refresh_by and back.issued_at == t0
    # Not a setting: a spec read from the table leaves it out.
    flat = {"provider": "vault", "path": "secret/x", **fields}
    assert ProviderSpec.from_flat(flat).settings == (("path", "secret/x"),)


def test_a_raw_last_error_from_an_older_file_is_shown_as_one_clean_line() -> None:
    from store.refresh.state import state_from_fields

    raw = "denied\n\x1b[31mFAKE: refreshed ok\r" + "z" * 900
    state = state_from_fields({"last-error": raw}, None, None)
    assert state.last_error is not None
    assert "\n" not in state.last_error and "\x1b" not in state.last_error
    assert "\r" not in state.last_error and len(state.last_error) <= 300
