"""What a digest holds, item by item: what is due first, then patterns, one item per pattern.

People stop reading reminders that repeat themselves, so a digest is short and says each thing
once. What is due (a setback to repair, a promise overdue or due, a client waiting on a problem)
comes first, one item each. Then come follow-ups and patterns. A pattern that several clients
share ("only asking", "gone quiet") is one item naming them, with the per-client detail one tap
away (``nudges KIND``). At most ``size`` items.
"""

from __future__ import annotations

from coaching.nudges import Nudge, NudgeKind

# The order of a digest: what is due, then what to follow through, then patterns.
TIERS = {
    NudgeKind.RECOVERY: 0, NudgeKind.PROMISE_OVERDUE: 0, NudgeKind.PROBLEM_WAITING: 0, NudgeKind.PROMISE_DUE: 0,
    NudgeKind.PROBLEM_FOLLOW_UP: 1, NudgeKind.AFTER_WIN: 1,
    NudgeKind.QUIET: 2, NudgeKind.ASK_ONLY: 2, NudgeKind.BUSY_LAPSE: 2,
}
# Kinds whose items are about a pattern, not a deadline: several clients make one item.
GROUPED = frozenset({NudgeKind.QUIET, NudgeKind.ASK_ONLY, NudgeKind.AFTER_WIN, NudgeKind.PROBLEM_FOLLOW_UP})


def ranked(nudges: list[Nudge]) -> list[Nudge]:
    """Due first, then follow-ups, then patterns; within each, most at stake first."""
    return sorted(nudges, key=lambda n: (TIERS.get(n.kind, 2), -n.stake, n.client_name or "", n.subject))


def items(nudges: list[Nudge]) -> list[list[Nudge]]:
    """The digest's items in order: a list of one nudge, or of every nudge of a grouped kind
    (placed where its most important member would be)."""
    out: list[list[Nudge]] = []
    groups: dict[NudgeKind, list[Nudge]] = {}
    for nudge in ranked(nudges):
        if nudge.kind in GROUPED:
            if nudge.kind not in groups:
                groups[nudge.kind] = []
                out.append(groups[nudge.kind])
            groups[nudge.kind].append(nudge)
        else:
            out.append([nudge])
    return out


def select(nudges: list[Nudge], size: int) -> list[Nudge]:
    """The nudges a digest of at most ``size`` items carries (every member of a group)."""
    return [n for item in items(nudges)[:size] for n in item]
