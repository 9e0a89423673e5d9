"""The hot path of a compiled function's call (or a compiled module's forward): one guard,
then its plan.

Once a signature's execution plan exists, the function gets a *guarded call*: a small
function generated for that signature which checks, inline, exactly what the signature pins
(grad mode; per tensor argument its exact type, dtype, rank, device and requires-grad flag; per
other argument its exact type; never sizes) and then runs the plan's code and returns the
caller's result (``f(x)`` returns the plan's single output, several come back as a tuple). A
module's guarded forward also reads its lifted parameters by their paths and checks them the
same way. Anything else — a keyword argument, another signature, a subclass — answers
:data:`MISS` and the call takes the executor's general path (binding, type checks, defaults,
plan lookup), which installs the guarded call of the new signature (one per signature is kept,
generated once). Calls that record gradients (grad mode on, a tensor argument requiring grad)
always take the general path: autodiff decides there.

Arguments whose signature passed ``check_inputs`` once pass it always (the signature pins every
type it looks at), so the guard only re-checks the signature. A function whose results are
rebuilt or checked after the call (NamedTuples, a loaded archive) keeps the general path.

Selecting another executor drops every guarded call (:func:`caches.drop_fast_calls`), as do
replacing a function's graph and changing a module's methods or constants
(:func:`caches.invalidate`).
"""

from __future__ import annotations

import numpy as np

from graphtorch.autograd import grad_mode
from graphtorch.tensor import Tensor

MISS = object()  # a guarded call's answer when the call is not its signature


def guarded_call(plan, key: tuple, nout: int, inputs: list, params: list | None = None):
    """The guarded call of ``plan`` for signature ``key`` (see :func:`plan.signature`), or None
    when some argument's kind has no inline check (lists, dtypes ...). ``inputs`` are the
    call's plan inputs (their exact types are checked). A function's guard is
    ``guarded(args)``; with ``params`` (the attribute paths of a module method's lifted
    parameters) it is ``guarded(module, args)``, the plan's inputs being the module, the
    arguments, then each parameter read from the module by its path."""
    grad, sigs = key
    if type(grad) is not bool or len(sigs) != len(inputs) or \
            grad and any(_records(s) for s in sigs):
        return None
    ns = {"_state": grad_mode.STATE, "_plan": plan, "MISS": MISS, "_recover": _recover,
          "_resolve": _resolve}
    names = [f"a{i}" for i in range(len(sigs))]
    checks = []
    for i, (a, s, v) in enumerate(zip(names, sigs, inputs)):
        ns[f"_ty{i}"] = type(v)
        if type(s) is tuple and len(s) == 4 and isinstance(s[0], np.dtype):
            dtype, ndim, device, rg = s
            if not isinstance(v, Tensor) or type(ndim) is not int or type(rg) is not bool:
                return None
            ns[f"_dt{i}"], ns[f"_dv{i}"] = dtype, device
            checks += [f"type({a}) is _ty{i}", f"{a}._data.dtype is _dt{i}",
                       f"{a}._data.ndim == {ndim}", f"{a}._device is _dv{i}",
                       f"{a}._rg is {rg}"]
        elif s is type(None):
            checks.append(f"{a} is None")
        elif isinstance(s, type) and s is type(v) and s not in (list, tuple, dict):
            checks.append(f"type({a}) is _ty{i}")
        else:
            return None
    checks.append(f"_state.enabled is {grad}")
    result = "out[0]" if nout == 1 else "tuple(out)"
    if params is None:
        args, head = names, ["def guarded(args):"]
    else:
        nargs = len(names) - 1 - len(params)
        if nargs < 0:
            return None
        args, head = names[1:1 + nargs], ["def guarded(m, args):", f"    {names[0]} = m"]
    lines = [*head, f"    if len(args) != {len(args)}:", "        return MISS"]
    if args:
        lines.append(f"    {', '.join(args)}, = args")
    for j, path in enumerate(params or ()):
        ns[f"_path{j}"] = tuple(path)
        lines.append(f"    {names[1 + len(args) + j]} = _resolve(m, _path{j})")
    plan_inputs = f"[{', '.join(names)}]"
    lines += [f"    if not ({' and '.join(checks)}):",
              "        return MISS",
              "    _plan.calls += 1",
              "    try:",
              f"        out = _plan.runner({plan_inputs})",
              "    except BaseException as e:",
              f"        out = _recover(_plan, e, {plan_inputs}, {grad})",
              f"    return {result}"]
    source = "\n".join(lines) + "\n"
    exec(compile(source, "<graphtorch guarded call>", "exec"), ns)  # noqa: S102 - ours
    fn = ns["guarded"]
    fn.source = source
    return fn


def _resolve(module, path: tuple):
    obj = module
    for name in path:
        obj = getattr(obj, name)
    return obj


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
