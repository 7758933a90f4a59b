from __future__ import annotations

import pytest

from store.agent import timer


def test_idle_timeout_resets_on_use() -> None:
    t = timer.start(100.0, idle=10, maximum=1000)
    assert t.expires_at() == 110.0
    t = t.touched(105.0)
    assert not t.expired(114.0)
    assert t.expired(115.0)


def test_hard_maximum_wins_over_use() -> None:
    t = timer.start(0.0, idle=10, maximum=25)
    for now in (8.0, 16.0, 24.0):
        assert not t.expired(now)
        t = t.touched(now)
    assert t.expires_at() == 25.0
    assert t.expired(25.0)


def test_touch_never_goes_back_in_time() -> None:
    t = timer.start(50.0, idle=10, maximum=100).touched(40.0)
    assert t.last_used == 50.0


def test_defaults_follow_gpg_agent() -> None:
    t = timer.start(0.0)
    assert (t.idle, t.maximum) == (600.0, 7200.0)


def test_non_positive_timeouts_are_rejected() -> None:
    with pytest.raises(ValueError):
        timer.start(0.0, idle=0)
