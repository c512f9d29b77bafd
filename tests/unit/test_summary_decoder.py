"""The decoder's touches: one ``Touch`` per day and purpose for the whole process."""

from __future__ import annotations

from datetime import date

from coaching.model import Purpose
from storage.summary_decoder import Decoder


def test_every_decoder_of_the_process_shares_one_touch_per_day_and_purpose() -> None:
    """Kept for the process, not per run: a later run (another decoder, another day) finds the
    touches made, as docs/performance.md says."""
    column = f"2026-12-01 {Purpose.GIVE.value},2026-11-20 {Purpose.ASK.value}"
    first = Decoder(date(2026, 12, 5), 12, 90).touches(column)
    later = Decoder(date(2026, 12, 6), 12, 90).touches(column)
    assert [(t.on, t.purpose) for t in first] == [(date(2026, 12, 1), Purpose.GIVE), (date(2026, 11, 20), Purpose.ASK)]
    assert all(a is b for a, b in zip(first, later, strict=True))
