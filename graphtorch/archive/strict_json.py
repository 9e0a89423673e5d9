"""JSON from a hostile file: every way it can be wrong becomes a FormatError naming the member.

Beyond syntax, three things ``json.loads`` accepts are refused: duplicate keys in an object (two
readers of the same file could each pick a different value, so a tool would show one model and
graphtorch load another), nesting deep enough to exhaust the parser's recursion, and more
objects than MAX_OBJECTS (a bound on the entries a manifest or header may declare).
"""

from __future__ import annotations

import json

from graphtorch.errors import FormatError


class _DuplicateKey(ValueError):
    pass


class _TooMany(ValueError):
    pass


# Objects in one JSON document: a manifest entry (module, parameter, method ...) or a tensor of
# the safetensors header is one object; past this many, the file is not a model but a cost.
MAX_OBJECTS = 2_000_000


def _unique_counted(limit: int):
    count = [0]

    def unique(pairs: list[tuple[str, object]]) -> dict:
        count[0] += 1
        if count[0] > limit:
            raise _TooMany(limit)
        out: dict = {}
        for k, v in pairs:
            if k in out:
                raise _DuplicateKey(k)
            out[k] = v
        return out

    return unique


def loads(raw, member: str, what: str = "JSON", max_objects: int | None = None) -> object:
    """Parse ``raw`` (UTF-8 bytes) as ``what``; FormatError with line and column when bad."""
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"{what} is not UTF-8 text: {e}", member=member) from None
    try:
        limit = MAX_OBJECTS if max_objects is None else max_objects
        return json.loads(text, object_pairs_hook=_unique_counted(limit))
    except json.JSONDecodeError as e:
        raise FormatError(f"bad {what} at line {e.lineno}, column {e.colno}: {e.msg}",
                          member=member) from None
    except _TooMany as e:
        raise FormatError(f"{what} holds more than {e.args[0]} objects", member=member) from None
    except _DuplicateKey as e:
        raise FormatError(f"{what} has the key {e.args[0]!r} twice in one object",
                          member=member) from None
    except RecursionError:
        raise FormatError(f"{what} nesting is too deep", member=member) from None
    except ValueError as e:   # e.g. an integer literal of more than 4300 digits
        raise FormatError(f"bad {what}: {e}", member=member) from None
