"""Rate limits and replay memory in the data directory: two instances (as two processes would
hold) see each other's hits and keys, expire them on their clock, and keep scopes apart."""

import pytest

from bot.chat.limits import SeenSetFull
from bot.chat.shared_limits import FILE_NAME, SharedRateLimiter, SharedSeenSet, database


def test_hits_through_one_limiter_count_in_another(settings):
    now = [1000.0]
    one, two = (SharedRateLimiter(database(settings), 3, "chat", clock=lambda: now[0])
                for _ in range(2))
    assert one.hit("api:1.2.3.4") == two.hit("api:1.2.3.4") == one.hit("api:1.2.3.4") == 0
    assert two.hit("api:1.2.3.4") == pytest.approx(60.0)
    assert two.waiting("api:1.2.3.4") == pytest.approx(60.0) and one.waiting("other") == 0
    other_scope = SharedRateLimiter(database(settings), 3, "wrong-token", clock=lambda: now[0])
    assert other_scope.hit("api:1.2.3.4") == 0
    now[0] += 60.0  # the window has passed
    assert one.hit("api:1.2.3.4") == 0
    raw = (settings.data_dir / FILE_NAME).read_bytes()
    assert b"1.2.3.4" not in raw  # keys are stored as digests


def test_a_key_seen_by_one_set_is_refused_by_another_until_it_expires(settings):
    now = [1000.0]
    one, two = (SharedSeenSet(database(settings), "slack-signatures", 300, max_items=2,
                              clock=lambda: now[0]) for _ in range(2))
    assert one.first("v0=abc", expires_at=1100.0)
    assert not two.first("v0=abc")
    assert SharedSeenSet(database(settings), "discord", 300, clock=lambda: now[0]).first("v0=abc")
    assert two.first("v0=def")
    with pytest.raises(SeenSetFull):  # full of live keys: refuse, never forget one early
        one.first("v0=ghi")
    now[0] = 1101.0  # v0=abc's own expiry has passed, v0=def's not
    assert one.first("v0=abc") and not one.first("v0=def") and len(two) == 2
