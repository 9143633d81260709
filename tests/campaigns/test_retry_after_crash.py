"""Campaign and group moves: the same request retried after a crash between its commit and the idempotency record's
completion answers what its first run answered (Stripe's idempotency); another request finding the change still
gets the conflict. A request is named by its tag (``shared.api.idempotency.request_tag``), recorded with the change
(Given / When / Then, on the in-memory fakes)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.campaigns.errors import KeyUserAlreadyClaimed, VoucherNotFound
from shared.campaigns.models import VoucherSource
from shared.groups.errors import AlreadyInGroup, GroupNotFound
from tests.campaigns.test_service_unit import Env

FIRST, OTHER = "tag-of-the-first-request", "tag-of-another-request"


def events(env: Env, detail_type: str) -> int:
    return [t for t, _ in env.store.events()].count(detail_type)


def group_events(env: Env, detail_type: str) -> int:
    return [e.detail_type for e in env.groups.store.outbox.values()].count(detail_type)  # type: ignore[attr-defined]


def test_pass_retried_answers_the_pass_once() -> None:
    env = Env()
    voucher = env.claim("alice")
    first = env.service.pass_on(env.cid, "alice", voucher.voucher_id, FIRST)
    assert env.service.pass_on(env.cid, "alice", voucher.voucher_id, FIRST) == first
    assert events(env, "VoucherPassed") == 1
    state = env.store.states[(env.cid, "alice")]
    assert sum(state.held.values()) == 0 and state.passes_today == 1
    with pytest.raises(VoucherNotFound):
        env.service.pass_on(env.cid, "alice", voucher.voucher_id, OTHER)
    with pytest.raises(VoucherNotFound):
        env.service.pass_on(env.cid, "alice", voucher.voucher_id)


def test_pass_retried_after_another_pass_is_not_found() -> None:
    # only the user's last pass is remembered: a retry after another pass of theirs is a new request
    env = Env()
    a, b = env.claim("alice"), env.claim("alice")
    env.service.pass_on(env.cid, "alice", a.voucher_id, FIRST)
    env.service.pass_on(env.cid, "alice", b.voucher_id, OTHER)
    with pytest.raises(VoucherNotFound):
        env.service.pass_on(env.cid, "alice", a.voucher_id, FIRST)


def test_key_user_claim_retried_answers_its_voucher_once() -> None:
    env = Env()
    env.group("alice")
    first = env.service.key_user_claim(env.cid, "alice", FIRST)
    assert first.source is VoucherSource.KEY_USER
    assert env.service.key_user_claim(env.cid, "alice", FIRST) == first
    assert events(env, "KeyUserVoucherClaimed") == 1
    assert [v.voucher_id for v in env.service.my_vouchers(env.cid, "alice")] == [first.voucher_id]
    with pytest.raises(KeyUserAlreadyClaimed):
        env.service.key_user_claim(env.cid, "alice", OTHER)
    with pytest.raises(KeyUserAlreadyClaimed):
        env.service.key_user_claim(env.cid, "alice")


def test_group_creation_retried_answers_the_group_once() -> None:
    env = Env()
    first = env.service.create_group(env.cid, "alice", "family", FIRST)
    assert env.service.create_group(env.cid, "alice", "family", FIRST) == first
    assert group_events(env, "GroupCreated") == 1
    with pytest.raises(AlreadyInGroup):
        env.service.create_group(env.cid, "alice", "family", OTHER)
    with pytest.raises(AlreadyInGroup):
        env.service.create_group(env.cid, "alice", "family")
    # the same tag in another campaign's context names another group
    other = env.service.create("admin", "k2", "Spring", env.campaign.kinds, env.campaign.prize_pot,
                               env.campaign.draw_at, ["SCAN"], env.campaign.limits)
    assert env.service.create_group(other.campaign_id, "alice", "family", FIRST).group_id != first.group_id


def test_join_retried_answers_the_group_once() -> None:
    env = Env()
    gid = env.group("alice")
    code = env.groups.invite(gid, "alice").code
    first = env.groups.join(code, "bob", FIRST)
    assert env.groups.join(code, "bob", FIRST) == first
    assert first.members == ("alice", "bob") and group_events(env, "GroupJoined") == 1
    with pytest.raises(AlreadyInGroup):
        env.groups.join(code, "bob", OTHER)
    with pytest.raises(AlreadyInGroup):
        env.groups.join(code, "bob")


def test_leave_retried_answers_as_the_first_once() -> None:
    env = Env()
    gid = env.group("alice", "bob")
    env.groups.leave(gid, "bob", FIRST)
    env.groups.leave(gid, "bob", FIRST)  # the retry: no error, nothing changed
    assert env.groups.get(gid, "alice").members == ("alice",) and group_events(env, "GroupLeft") == 1
    with pytest.raises(GroupNotFound):
        env.groups.leave(gid, "bob", OTHER)
    with pytest.raises(GroupNotFound):
        env.groups.leave(gid, "bob")
    # rejoined, the old request no longer stands for a leave: it is a new one
    env.now += timedelta(minutes=1)
    env.groups.join(env.groups.invite(gid, "alice").code, "bob")
    env.groups.leave(gid, "bob", FIRST)
    assert group_events(env, "GroupLeft") == 2
