"""Sizes read while tracing (``x.size(0)``, ``x.shape[0]``) stay graph values.

A :class:`TracedInt` is an ``int`` (so numpy and Python accept it) that also carries the IR value
that computes it; arithmetic on it is recorded, so ``x.view(x.size(0), -1)`` traced at batch 3
runs at batch 7.
"""

from __future__ import annotations

import operator

# prim kind, python function: the interpreter runs the same table (runtime/scalar_ops.py)
_BINOPS = {
    "add": ("prim::add", operator.add),
    "sub": ("prim::sub", operator.sub),
    "mul": ("prim::mul", operator.mul),
    "floordiv": ("prim::floordiv", operator.floordiv),
    "mod": ("prim::mod", operator.mod),
}


class TracedInt(int):
    def __new__(cls, n: int, value, tracer):
        obj = super().__new__(cls, n)
        obj.value = value
        obj.tracer = tracer
        return obj

    def _binop(self, name: str, other, reverse: bool):
        kind, fn = _BINOPS[name]
        a, b = (other, self) if reverse else (self, other)
        result = fn(int(a), int(b))
        if not isinstance(other, int) or isinstance(other, bool):
            return result
        return self.tracer.record_scalar(kind, [a, b], result)

    def __add__(self, o):
        return self._binop("add", o, False)

    def __radd__(self, o):
        return self._binop("add", o, True)

    def __sub__(self, o):
        return self._binop("sub", o, False)

    def __rsub__(self, o):
        return self._binop("sub", o, True)

    def __mul__(self, o):
        return self._binop("mul", o, False)

    def __rmul__(self, o):
        return self._binop("mul", o, True)

    def __floordiv__(self, o):
        return self._binop("floordiv", o, False)

    def __rfloordiv__(self, o):
        return self._binop("floordiv", o, True)

    def __mod__(self, o):
        return self._binop("mod", o, False)

    def __neg__(self):
        return self.tracer.record_scalar("prim::neg", [self], -int(self))

    def __hash__(self) -> int:
        return int.__hash__(self)

    def __repr__(self) -> str:
        return int.__repr__(self)
