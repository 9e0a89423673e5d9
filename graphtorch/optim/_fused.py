"""Fused optimizer steps that a higher layer provides: one pass over a parameter's arrays.

An optimizer's numpy step makes several passes over each parameter (SGD with momentum: scale
the buffer, add the gradient, scale it by the learning rate, subtract), each reading and writing
whole arrays. A fused step reads the parameter, its gradient and its state once and writes them
once. ``optim`` sits below the runtime (tests/test_layers.py), so it cannot build C kernels
itself: ``graphtorch.runtime.c_optim`` registers its steps here when the runtime loads (any
compiled module or function loads it). A step returns False for arrays it does not cover (other
dtypes, non-contiguous, non-numpy, scalars it cannot pass exactly) and the optimizer runs its
numpy step instead, which is also what runs when nothing is registered or no C compiler exists.
Registered steps compute exactly what the numpy steps compute (same operations, same rounding).
"""

from __future__ import annotations

from collections.abc import Callable

_STEPS: dict[str, Callable[..., bool]] = {}


def provide(name: str, step: Callable[..., bool] | None) -> None:
    """Register (or, with None, remove) the fused step called ``name`` (``"sgd"``)."""
    if step is None:
        _STEPS.pop(name, None)
    else:
        _STEPS[name] = step


def fused_step(name: str) -> Callable[..., bool] | None:
    """The fused step registered as ``name``, or None."""
    return _STEPS.get(name)
