"""One coaching tip after every logged touch, chosen by the situation.

Template tips written natively in both languages (the catalogue's ``tip.*`` keys), grounded in
what just happened and the client's history: give before asking, keep small promises, answer
problems fast, move up the trust levels. An LLM may later phrase tips more specifically; this
is the floor that always works.
"""

from __future__ import annotations

from dataclasses import dataclass

from coaching.messages import Msg, msg
from coaching.model import Purpose, TrustLevel


@dataclass(frozen=True)
class Situation:
    client: str
    purpose: Purpose
    promises_made: int
    problem_raised: bool
    recent_asks: int  # asks among the last touches (this one included)
    recent_gives: int
    trust_level: TrustLevel | None
    demanded_justification: bool | None
    balance: int
    concession: bool = False  # the note says the client wants a discount or something free


def choose(s: Situation) -> Msg:
    """The most useful tip for this moment; the order is the order of what is at stake."""
    if s.problem_raised:
        return msg("tip.problem_raised", client=s.client)
    if s.concession:
        return msg("tip.concession", client=s.client)
    if s.balance < 0:
        return msg("tip.rebuild", client=s.client)
    if s.promises_made:
        return msg("tip.promise_made", client=s.client, count=s.promises_made)
    if s.purpose is Purpose.ASK and s.recent_gives == 0 and s.recent_asks >= 2:
        return msg("tip.give_first", client=s.client)
    if s.demanded_justification:
        return msg("tip.justification", client=s.client)
    if s.purpose is Purpose.SERVICE:
        return msg("tip.service_followup", client=s.client)
    if s.trust_level is not None and s.trust_level < TrustLevel.PRESENCE:
        return msg(f"tip.level_up.{int(s.trust_level)}", client=s.client)
    if s.purpose is Purpose.GIVE:
        return msg("tip.give_steady", client=s.client)
    if s.purpose is Purpose.CONTACT:
        return msg("tip.contact", client=s.client)
    return msg("tip.domain", client=s.client)
