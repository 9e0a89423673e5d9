"""``cmath`` in script: each function a scalar prim of ops/scalar_ops.py (``prim::cmath_log``
...), with the type of its result. The ``complex`` type itself (literals ``2j``, ``complex(a, b)``,
arithmetic, ``.real``/``.imag``) is part of the expression lowering."""

from __future__ import annotations

import cmath

from graphtorch.ir import types as T

_RESULT = {"phase": T.FLOAT, "isinf": T.BOOL, "isnan": T.BOOL, "isfinite": T.BOOL}

# function -> (prim kind, result type)
CMATH: dict = {getattr(cmath, name): (f"prim::cmath_{name}", _RESULT.get(name, T.COMPLEX))
               for name in ("log", "log10", "sqrt", "exp", "sin", "cos", "tan", "asin", "acos",
                            "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "phase",
                            "isinf", "isnan", "isfinite", "rect")}
