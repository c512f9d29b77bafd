"""Every number the coach decides with, in one place.

The defaults follow ``DOMAIN.md``. A team can override any of them in a TOML file (see
``docs/rules.md``); :func:`Rules.with_overrides` applies such a mapping and rejects unknown names
or values of the wrong type, so a typo never silently falls back to a default.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Mapping


@dataclass(frozen=True)
class Points:
    promise_kept: int = 3
    promise_kept_late: int = -1
    promise_broken: int = -10
    promise_broken_after_days: int = 7  # an open promise this many days past due counts as broken
    give_touch: int = 2
    proof_shown: int = 2  # track record shown, or a client-centred proposal
    problem_answered_fast: int = 3
    problem_answered_within_days: int = 1  # same day or the next counts as "within 24 h"
    problem_unanswered: int = -5
    problem_unanswered_after_days: int = 3  # 72 h
    breach_reset_to: int = -20
    misunderstanding: int = -5  # the rep's message was taken wrongly: their responsibility, not a lie
    put_right_fast: int = 2  # a correction within ``put_right_fast_days`` of the setback
    put_right_fast_days: int = 2
    silence_per_week: int = -1
    ask_touch: int = 0


@dataclass(frozen=True)
class Nudging:
    cadence_default_days: int = 21
    cadence_min_days: int = 7
    cadence_max_days: int = 60
    cadence_history: int = 6  # touches whose gaps make the cadence
    cadence_min_touches: int = 3  # fewer than this and the default cadence applies
    quiet_factor: float = 1.5
    ask_only_window_days: int = 90
    ask_only_min_touches: int = 3
    ask_only_share: float = 0.8
    after_win_window_days: int = 180
    busy_recent_days: int = 14
    busy_baseline_days: int = 70  # the weeks before the recent window
    busy_share: float = 0.4
    busy_min_baseline: float = 4.0  # touches per recent window before a lapse means anything
    promise_due_ahead_days: int = 1  # today or tomorrow
    problem_waiting_days: int = 1
    recovery_window_days: int = 30
    follow_through_days: int = 7  # a problem answered but not solved: check in after this many days
    # The share of eligible digest nudges held back at random to measure the coach's effect
    # (coach nudges-effect): 0 = off; 0.1 recommended in a pilot.
    holdout_share: float = 0.0
    logging_lapse_days: int = 3  # working days with nothing logged before the digest says so


@dataclass(frozen=True)
class Conversations:
    expire_minutes: int = 30
    client_choices: int = 8
    max_promises: int = 5
    max_note_chars: int = 2000
    # An existing client whose trust was never assessed, or not within this many days, gets the
    # trust question ("what did they ask of you?") when the rep logs a touch; else only a hint
    # in the note asks it.
    trust_reassess_days: int = 60


@dataclass(frozen=True)
class Trusting:
    # The level moves when the evidence does: this many of the last ``trust_window`` signals
    # (what the client asked of the rep, touch by touch) must agree on a new level.
    trust_window: int = 3
    trust_agree: int = 2


@dataclass(frozen=True)
class Rules:
    points: Points = Points()
    nudging: Nudging = Nudging()
    conversations: Conversations = Conversations()
    trusting: Trusting = Trusting()

    def with_overrides(self, overrides: Mapping[str, Any]) -> Rules:
        """Return a copy with ``{"points": {"give_touch": 1}, ...}`` applied."""
        changes: dict[str, Any] = {}
        for section_name, values in overrides.items():
            if section_name not in {f.name for f in fields(self)}:
                raise ValueError(f"unknown rules section [{section_name}]")
            if not isinstance(values, Mapping):
                raise ValueError(f"[{section_name}] must be a table of settings")
            section = getattr(self, section_name)
            known = {f.name: f for f in fields(section)}
            updates = {}
            for name, value in values.items():
                if name not in known:
                    raise ValueError(f"unknown setting {section_name}.{name}")
                default = getattr(section, name)
                if isinstance(default, bool) or not isinstance(value, (int, float)) or isinstance(value, bool):
                    raise ValueError(f"{section_name}.{name} must be a number, not {value!r}")
                if isinstance(default, int) and not isinstance(value, int):
                    raise ValueError(f"{section_name}.{name} must be a whole number, not {value!r}")
                updates[name] = type(default)(value)
            changes[section_name] = replace(section, **updates)
        return replace(self, **changes)


DEFAULT_RULES = Rules()
