"""Release a plan's intermediate arrays at their last use (the plan's memory plan).

The plan's generated ``plan(_inputs)`` keeps every local until it returns, so every
intermediate array of a call is alive at once. Rebinding an array's name to ``None`` right
after the last top-level statement that mentions it drops its last reference there: the
memory goes back to the allocator and the next same-sized output reuses it while it is still
warm in cache (glibc hands a just-freed chunk of that size back first; see
graphtorch/malloc_tuning.py). Peak memory falls to the arrays actually live at each point.

It works on the generated text, which is safe because the text is all there is: a name that
no later line mentions is never read again (the plan defines no nested functions and reads
no names dynamically). A mention inside a loop or an ``if`` counts as a mention by the whole
top-level statement, so nothing is released inside a loop that reads it on a later iteration.
Only names bound to tensors (arrays) are released, and never right before the ``return``
(nothing would reuse the memory): a plan of one kernel gets no extra statement.
"""

from __future__ import annotations

import re

_NAME = re.compile(r"[A-Za-z_]\w*")
_INDENT = "    "


def _statements(lines: list[str], start: int) -> list[tuple[int, int]]:
    """[first, end) line ranges of the top-level statements of the body from ``start``."""
    spans: list[tuple[int, int]] = []
    for i in range(start, len(lines)):
        line = lines[i]
        top = line.startswith(_INDENT) and not line.startswith(_INDENT + " ")
        continues = line[4:].startswith(("else:", "elif ")) if top else True
        if top and not continues:
            spans.append((i, i + 1))
        elif spans:
            spans[-1] = (spans[-1][0], i + 1)
    return spans


def release_dead_arrays(lines: list[str], start: int, arrays: set[str]) -> list[str]:
    """``lines`` (a plan's body from ``start``, return not yet emitted) with ``name = None``
    after the last top-level statement that mentions each name in ``arrays``."""
    spans = _statements(lines, start)
    last: dict[str, int] = {}
    for k, (a, b) in enumerate(spans):
        for i in range(a, b):
            for n in _NAME.findall(lines[i]):
                if n in arrays:
                    last[n] = k
    after: dict[int, list[str]] = {}
    for n, k in last.items():
        if k < len(spans) - 1:   # NOTE: after the last statement comes the return only
            after.setdefault(k, []).append(n)
    if not after:
        return lines
    out = lines[:start]
    for k, (a, b) in enumerate(spans):
        out.extend(lines[a:b])
        names = after.get(k)
        if names:
            out.append(f"{_INDENT}{' = '.join(sorted(names))} = None")
    return out
