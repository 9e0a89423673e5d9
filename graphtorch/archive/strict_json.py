"""JSON from a hostile file: every way it can be wrong becomes a FormatError naming the member.

Beyond syntax, two things ``json.loads`` accepts are refused: duplicate keys in an object (two
readers of the same file could each pick a different value, so a tool would show one model and
graphtorch load another) and nesting deep enough to exhaust the parser's recursion.
"""

from __future__ import annotations

import json

from graphtorch.errors import FormatError


class _DuplicateKey(ValueError):
    pass


def _unique(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


def loads(raw, member: str, what: str = "JSON") -> object:
    """Parse ``raw`` (UTF-8 bytes) as ``what``; FormatError with line and column when bad."""
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"{what} is not UTF-8 text: {e}", member=member) from None
    try:
        return json.loads(text, object_pairs_hook=_unique)
    except json.JSONDecodeError as e:
        raise FormatError(f"bad {what} at line {e.lineno}, column {e.colno}: {e.msg}",
                          member=member) from None
    except _DuplicateKey as e:
        raise FormatError(f"{what} has the key {e.args[0]!r} twice in one object",
                          member=member) from None
    except RecursionError:
        raise FormatError(f"{what} nesting is too deep", member=member) from None
    except ValueError as e:   # e.g. an integer literal of more than 4300 digits
        raise FormatError(f"bad {what}: {e}", member=member) from None
