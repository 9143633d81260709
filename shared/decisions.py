"""One rule for every decision a person takes on a case: nobody decides a case they are a party to.

A decision route (a reversal, an identity review, a verification's feedback, a binding's approval …) loads its
case, names the case's parties (user ids: the people whose money, identity or request it is, and anyone who
acted in it) and calls ``ensure_not_party`` with the decider before anything is written. The refusal is one
domain error, ``SelfReview`` (``403 SELF_REVIEW``), whatever the route; its details name the case kind only,
never the other parties.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.errors import Forbidden


class SelfReview(Forbidden):
    code = "SELF_REVIEW"
    default_message = "The decider is a party to this case and may not decide it."


def ensure_not_party(decider: str, parties: Iterable[str | None], case: str) -> None:
    """Raise ``SelfReview`` when ``decider`` is one of ``parties`` (missing parties, ``None``, are skipped)."""
    if decider in {p for p in parties if p}:
        raise SelfReview(case=case)
