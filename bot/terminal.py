"""Rendering neutral replies as terminal text (the console channel and the CLI)."""

from __future__ import annotations

import re

from coaching.messages import Catalog, Msg
from coaching.replies import Reply

# C0/C1 controls (ANSI escapes included) in user text must not drive the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape(text: str) -> str:
    return _CONTROL.sub("", text)


def render(reply: Reply, catalog: Catalog, locale: str | None) -> str:
    out, number = [], 0
    for line, choices in reply.groups():
        out.append(catalog.render(line, locale, escape))
        for choice in choices:
            number += 1
            label = catalog.render(choice.label, locale, escape) if isinstance(choice.label, Msg) else escape(choice.label)
            out.append(f"  {number}) {label}")
    return "\n".join(out)
