"""A lean driver for lark's LALR tables: the same parse, about half the work per token.

lark's own loop (``ParserState.feed_token``) looks every reduction's callback up by its rule,
recomputes the rule's length and origin, and runs a position wrapper even for the unit rules of
the expression grammar (``?test: or_test``), whose callback hands its only child back unchanged.
Those unit reductions are most of the reductions in Python code. The driver below reads the same
tables, lexer and callbacks but flattens them once: a shift is an ``int`` (the next state), a
reduction a ``(size, callback, origin)`` tuple, and a unit rule whose callback returns its child
as it is (lark's ``ExpandSingleChild`` with no child filter) only replaces the top state.

Anything unusual -- a token the table has no action for, a lexer error, an indentation error --
makes the driver give up and lark parse the text again, so every syntax error is lark's own
(with its expected tokens and position). A lark laid out differently from 1.3's is not driven
(``FastLALR.build`` returns None) and lark parses everything.
"""

from __future__ import annotations

from lark import Token
from lark import parse_tree_builder as _tree_builder
from lark.exceptions import LarkError
from lark.parsers.lalr_analysis import Shift


class _Top:
    """What lark's contextual lexer asks of a parser state: the state on top of the stack."""

    __slots__ = ("stack",)

    def __init__(self, stack: list) -> None:
        self.stack = stack

    @property
    def position(self) -> int:
        return self.stack[-1]


class _GiveUp(Exception):
    """The driver met something it leaves to lark (never leaves this module)."""


def _is_unit_identity(rule, callback) -> bool:
    """True when reducing ``rule`` returns its single child unchanged: an inlined (``?``) rule of
    one symbol, unaliased, whose child no filter drops or splices. Read off the callback chain
    lark built (position wrapper -> ExpandSingleChild, nothing between them)."""
    if len(rule.expansion) != 1 or rule.alias or not rule.options.expand1:
        return False
    inner = getattr(callback, "node_builder", None)
    return type(inner) is _tree_builder.ExpandSingleChild


class FastLALR:
    """Parses text with lark's tables, lexer and tree builders (see the module doc)."""

    def __init__(self, lark, table: dict, starts: dict, ends: dict, token_callbacks: dict):
        self._lark = lark
        self._frontend = lark.parser
        self._table = table
        self._starts = starts
        self._ends = ends
        self._token_callbacks = token_callbacks

    @classmethod
    def build(cls, lark) -> FastLALR | None:
        """The driver for a built ``Lark`` (LALR, propagate_positions as graphtorch sets it), or
        None when lark's internals are not laid out as this driver expects."""
        try:
            inner = lark.parser.parser.parser
            parse_table, callbacks = inner.parse_table, inner.callbacks
            states = parse_table.states
            starts, ends = dict(parse_table.start_states), dict(parse_table.end_states)
            lark.parser._make_lexer_thread           # noqa: B018 - the entry point used below
        except AttributeError:
            return None
        token_callbacks = {k: v for k, v in callbacks.items() if isinstance(k, str)}
        table: dict = {}
        for state, row in states.items():
            flat = {}
            for name, (action, arg) in row.items():
                if action is Shift:
                    flat[name] = arg
                    continue
                cb = callbacks[arg]
                unit = _is_unit_identity(arg, cb)
                flat[name] = (len(arg.expansion), None if unit else cb, arg.origin.name)
            table[state] = flat
        return cls(lark, table, starts, ends, token_callbacks)

    def parse(self, text: str, start: str):
        """lark's parse tree for ``text`` from rule ``start`` (lark's exception on bad input)."""
        try:
            return self._drive(text, start)
        except (_GiveUp, LarkError, KeyError, AssertionError):
            # NOTE: lark parses again and raises its own, precise error (or, should the driver
            # ever disagree with lark, returns lark's tree).
            return self._lark.parse(text, start=start)

    def _drive(self, text: str, start: str):
        table = self._table
        token_callbacks = self._token_callbacks
        end_state = self._ends[start]
        states = [self._starts[start]]
        values: list = []
        thread = self._frontend._make_lexer_thread(text)
        for token in _with_end(thread.lex(_Top(states))):
            ttype = token.type
            while True:
                act = table[states[-1]][ttype]
                if act.__class__ is int:
                    if ttype == "$END":
                        raise _GiveUp
                    states.append(act)
                    values.append(token_callbacks[ttype](token) if ttype in token_callbacks
                                  else token)
                    break
                size, cb, origin = act
                if cb is None:
                    states[-1] = table[states[-2]][origin]
                else:
                    if size:
                        s = values[-size:]
                        del states[-size:]
                        del values[-size:]
                    else:
                        s = []
                    values.append(cb(s))
                    states.append(table[states[-1]][origin])
                if ttype == "$END" and states[-1] == end_state:
                    return values[-1]
        raise _GiveUp


def _with_end(stream):
    """The tokens, then lark's end marker (placed at the last token, as lark places it)."""
    token = None
    for token in stream:
        yield token
    yield Token.new_borrow_pos("$END", "", token) if token else Token("$END", "", 0, 1, 1)
