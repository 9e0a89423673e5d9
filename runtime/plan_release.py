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

Inside a ``while`` body the same rule applies, level by level, to the names *local to the
body*: every mention of them in the whole function lies in that body (not in its header, not
before or after the loop), so each iteration binds them before reading them (the plan's code
is in SSA form: a value is assigned where its node stands and read only after), and one
iteration's arrays are released at their last use in the body instead of living on into the
next iteration until rebound.
"""

from __future__ import annotations

import re

_NAME = re.compile(r"[A-Za-z_]\w*")
_INDENT = "    "


def _statements(lines: list[str], start: int, end: int | None = None,
                level: int = 1) -> list[tuple[int, int]]:
    """[first, end) line ranges of the statements at indentation ``level`` of the lines
    ``start:end``."""
    spans: list[tuple[int, int]] = []
    pad = _INDENT * level
    for i in range(start, len(lines) if end is None else end):
        line = lines[i]
        top = line.startswith(pad) and not line.startswith(pad + " ")
        continues = line[len(pad):].startswith(("else:", "elif ")) if top else True
        if top and not continues:
            spans.append((i, i + 1))
        elif spans:
            spans[-1] = (spans[-1][0], i + 1)
    return spans


def _mentions(lines: list[str], a: int, b: int, arrays: set[str]) -> set[str]:
    return {n for i in range(a, b) for n in _NAME.findall(lines[i]) if n in arrays}


def _release(lines: list[str], spans: list, arrays: set[str],
             keep_last: bool) -> dict[int, list[str]]:
    """Statement index -> the names released after it: each name in ``arrays`` after the last
    statement mentioning it (never after the last statement when ``keep_last``)."""
    last: dict[str, int] = {}
    for k, (a, b) in enumerate(spans):
        for n in _mentions(lines, a, b, arrays):
            last[n] = k
    after: dict[int, list[str]] = {}
    for n, k in last.items():
        if not keep_last or k < len(spans) - 1:
            after.setdefault(k, []).append(n)
    return after


def _emit(lines: list[str], a: int, b: int, level: int, arrays: set[str], outside: dict,
          keep_last: bool) -> list[str]:
    """The statements at ``level`` of ``lines[a:b]`` with their release lines; a ``while``
    statement's body is handled at the next level for the names local to it."""
    spans = _statements(lines, a, b, level)
    after = _release(lines, spans, arrays, keep_last)
    out: list[str] = lines[a:spans[0][0]] if spans else lines[a:b]
    pad = _INDENT * level
    for k, (s, e) in enumerate(spans):
        if lines[s].startswith(pad + "while ") and e > s + 1:
            inner = {n for n in _mentions(lines, s + 1, e, arrays)
                     if outside.get(n, 0) == _count(lines, s + 1, e, n)
                     and n not in _NAME.findall(lines[s])}
            out.append(lines[s])
            out.extend(_emit(lines, s + 1, e, level + 1, inner, outside, False) if inner
                       else lines[s + 1:e])
        else:
            out.extend(lines[s:e])
        names = after.get(k)
        if names:
            out.append(f"{pad}{' = '.join(sorted(names))} = None")
    return out


def _count(lines: list[str], a: int, b: int, name: str) -> int:
    return sum(_NAME.findall(lines[i]).count(name) for i in range(a, b))


def release_dead_arrays(lines: list[str], start: int, arrays: set[str]) -> list[str]:
    """``lines`` (a plan's body from ``start``, return not yet emitted) with ``name = None``
    after the last top-level statement that mentions each name in ``arrays``, and inside each
    loop body after the last statement of the body mentioning each array local to it."""
    if not arrays:
        return lines
    counts: dict[str, int] = {}
    for i in range(start, len(lines)):
        for n in _NAME.findall(lines[i]):
            if n in arrays:
                counts[n] = counts.get(n, 0) + 1
    out = lines[:start] + _emit(lines, start, len(lines), 1, arrays, counts, True)
    return lines if out == lines else out
