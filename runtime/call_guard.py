"""The hot path of a compiled function's call: one guard, then its plan.

Once a signature's execution plan exists, the function gets a *guarded call*: a small
function generated for that signature which checks, inline, exactly what the signature pins
(grad mode; per tensor argument its type, dtype, rank, device and requires-grad flag; per scalar
its Python type; never sizes) and then runs the plan's code and returns the caller's result
(``f(x)`` returns the plan's single output, several come back as a tuple). Anything else — a
keyword argument, another signature, a Tensor subclass — answers :data:`MISS` and the call takes
the executor's general path (binding, type checks, defaults, plan lookup), which installs the
guarded call of the new signature (one per signature is kept, generated once).

Arguments whose signature passed ``check_inputs`` once pass it always (the signature pins every
type it looks at), so the guard only re-checks the signature. A function whose results are
rebuilt or checked after the call (NamedTuples, a loaded archive) keeps the general path.

Selecting another executor drops every guarded call (:func:`caches.drop_fast_calls`), as does
replacing a function's graph.
"""

from __future__ import annotations

import numpy as np

from graphtorch.autograd import grad_mode
from graphtorch.tensor import Tensor

MISS = object()  # a guarded call's answer when the call is not its signature


def guarded_call(plan, key: tuple, nout: int):
    """The guarded call of ``plan`` for signature ``key`` (see :func:`plan.signature`), or None
    when some argument's kind has no inline check (lists, dtypes ...)."""
    grad, sigs = key
    if type(grad) is not bool or grad and any(_records(s) for s in sigs):
        return None
    ns = {"_T": Tensor, "_state": grad_mode.STATE, "_plan": plan, "MISS": MISS,
          "_recover": _recover}
    names = [f"a{i}" for i in range(len(sigs))]
    checks = []
    for i, (a, s) in enumerate(zip(names, sigs)):
        if type(s) is tuple and len(s) == 4 and isinstance(s[0], np.dtype):
            dtype, ndim, device, rg = s
            if type(ndim) is not int or type(rg) is not bool:
                return None
            ns[f"_dt{i}"], ns[f"_dv{i}"] = dtype, device
            checks += [f"type({a}) is _T", f"{a}._data.dtype is _dt{i}",
                       f"{a}._data.ndim == {ndim}", f"{a}._device is _dv{i}",
                       f"{a}._rg is {rg}"]
        elif s is type(None):
            checks.append(f"{a} is None")
        elif s in (int, float, bool):
            checks.append(f"type({a}) is {s.__name__}")
        else:
            return None
    checks.append(f"_state.enabled is {grad}")
    args = ", ".join(names) + ("," if len(names) == 1 else "")
    inputs = f"[{', '.join(names)}]"
    result = "out[0]" if nout == 1 else "tuple(out)"
    lines = ["def guarded(args):",
             f"    if len(args) != {len(names)}:",
             "        return MISS"]
    if names:
        lines.append(f"    {args} = args")
    lines += [f"    if not ({' and '.join(checks)}):",
              "        return MISS",
              "    _plan.calls += 1",
              "    try:",
              f"        out = _plan.runner({inputs})",
              "    except BaseException as e:",
              f"        out = _recover(_plan, e, {inputs}, {grad})",
              f"    return {result}"]
    source = "\n".join(lines) + "\n"
    exec(compile(source, "<graphtorch guarded call>", "exec"), ns)  # noqa: S102 - ours
    fn = ns["guarded"]
    fn.source = source
    return fn


def _records(sig) -> bool:
    """A tensor argument that requires grad (with grad mode on, the call records gradients)."""
    return type(sig) is tuple and len(sig) == 4 and sig[3] is True


def _recover(plan, error: BaseException, inputs: list, grad: bool) -> list:
    """The plan's answer to its code raising ``error`` (:meth:`ExecutionPlan.recover`), with
    grad mode as the call found it whatever happens (a script ``with no_grad()`` body may have
    raised inside)."""
    grad_mode.STATE.enabled = grad
    try:
        return plan.recover(error, inputs)
    except BaseException:
        grad_mode.STATE.enabled = grad
        raise
