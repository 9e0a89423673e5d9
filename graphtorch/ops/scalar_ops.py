"""Scalar (int/float/bool/str) operations that graphs compute outside tensors.

One table from IR kind (``prim::add`` ...) to its Python semantics: the tracer and the script
compiler emit these kinds, the interpreter and constant folding run them. Python semantics
(``//`` floors, ``/`` is true division, ``%`` takes the divisor's sign), as TorchScript has.
"""

from __future__ import annotations

import math
import operator


def _div(a, b):
    if b == 0:
        raise ZeroDivisionError("division by zero")
    return a / b


SCALAR_OPS: dict[str, object] = {
    "prim::add": operator.add,
    "prim::sub": operator.sub,
    "prim::mul": operator.mul,
    "prim::div": _div,
    "prim::floordiv": operator.floordiv,
    "prim::mod": operator.mod,
    "prim::pow": operator.pow,
    "prim::neg": operator.neg,
    "prim::pos": operator.pos,
    "prim::abs": abs,
    "prim::eq": operator.eq,
    "prim::ne": operator.ne,
    "prim::lt": operator.lt,
    "prim::le": operator.le,
    "prim::gt": operator.gt,
    "prim::ge": operator.ge,
    "prim::not": operator.not_,
    "prim::and": lambda a, b: a and b,
    "prim::or": lambda a, b: a or b,
    "prim::min": min,
    "prim::max": max,
    "prim::int": int,
    "prim::float": float,
    "prim::bool": bool,
    "prim::str": str,
    "prim::len": len,
    "prim::is": operator.is_,
    "prim::is_not": operator.is_not,
    "prim::in": lambda a, b: a in b,
    "prim::not_in": lambda a, b: a not in b,
    "prim::floor": math.floor,
    "prim::ceil": math.ceil,
    "prim::sqrt": math.sqrt,
    "prim::format": lambda fmt, *args: fmt.format(*args),
    "prim::bitand": operator.and_,
    "prim::bitor": operator.or_,
    "prim::bitxor": operator.xor,
    "prim::lshift": operator.lshift,
    "prim::rshift": operator.rshift,
}
