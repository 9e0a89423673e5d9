"""The default values of a Python function's parameters, which scripted graphs keep."""

from __future__ import annotations

import inspect


def parameter_defaults(fn) -> dict:
    """``{name: default}`` of ``fn``'s parameters that have one; {} when it has no signature."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return {}
    return {k: p.default for k, p in sig.parameters.items()
            if p.default is not inspect.Parameter.empty}
