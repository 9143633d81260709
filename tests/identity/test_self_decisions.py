"""Nobody decides a case they are a party to (issue 9 item 1), on ``POST /reviews/{id}/decision``: the
verification's own user may not decide its review, even with the reviewer role (``403 SELF_REVIEW``).
"""

from __future__ import annotations

from tests.identity.conftest import WORKER, Identity


def test_a_reviewer_cannot_decide_their_own_identity_review(identity: Identity) -> None:
    # Given a verification in review whose user is also a reviewer
    who = identity.person(WORKER)
    vid = identity.start(who).body["verification_id"]
    identity.wait_status(who, vid, "AWAITING_DOCUMENT")
    identity.upload(who, vid)
    assert identity.submit(who, vid).status == 202
    identity.wait_status(who, vid, "IN_REVIEW")
    review_id = identity.review_for(vid)["review_id"]
    own = type(who)(who.sub, identity.api.token(who.sub, "reviewer"))
    # When they decide it, Then it is refused and the verification is still in review
    for decision in ("APPROVE", "REJECT"):
        reply = identity.decide(review_id, decision, who=own)
        assert (reply.status, reply.code) == (403, "SELF_REVIEW"), reply.body
    assert identity.get(who, vid).body["status"] == "IN_REVIEW"
    assert identity.review_for(vid)["status"] == "OPEN"
    assert identity.decide(review_id, "APPROVE").status == 200  # another reviewer may
