"""``graphtorch run MODEL --compare``: the model executed both ways, compared.

Without a reference file, ``--compare`` runs the loaded model once through the reference
interpreter and then through the execution plan (``--executor``, default ``compiled``: the
profiling call, the plan build and one call of the built code), both from the same random seed,
and compares every output: max abs and max rel difference, within the documented tolerance of
compiled results per dtype (``runtime/plan.py`` ``tolerance``; docs/fusion.md) unless
``--rtol``/``--atol`` are given. With ``REF.npz`` the outputs are compared with stored arrays.
"""

from __future__ import annotations

import numpy as np

import graphtorch
from graphtorch.cli.errors import CLIError, UsageError
from graphtorch.cli.inputs import flatten_outputs
from graphtorch.frontend.script_module import ScriptFunction
from graphtorch.jit import get_executor, set_executor
from graphtorch.runtime.caches import PREPARED
from graphtorch.runtime.executor import prepared_function, prepared_graph
from graphtorch.runtime.plan import PlanCache, tolerance

# --rtol/--atol against a reference file, when not given (the run command's documented defaults)
FILE_RTOL, FILE_ATOL = 1e-5, 1e-8


def executors_compared(prep, method: str, seed: int) -> tuple[dict, dict, str]:
    """(reference outputs, planned outputs, the plan's explanation) of one call each way."""
    executor = get_executor()
    if executor == "interpreter":
        raise UsageError("--compare without a reference file compares the execution plan with "
                         "the interpreter; --executor interpreter leaves nothing to compare")
    try:
        set_executor("interpreter")
        graphtorch.manual_seed(seed)
        reference = flatten_outputs(prep.call())
    finally:
        set_executor(executor)
    # NOTE: the first PROFILING_RUNS calls of a signature run the interpreter and the next one
    # builds the plan: the compared call is the one after, which runs the built code
    for _ in range(PlanCache.PROFILING_RUNS + 1):
        graphtorch.manual_seed(seed)
        prep.call()
    graphtorch.manual_seed(seed)
    planned = flatten_outputs(prep.call())
    return reference, planned, _explain(prep.obj, method)


def _explain(obj, method: str) -> str:
    if isinstance(obj, ScriptFunction):
        return prepared_function(obj).plans.explain()
    if method not in PREPARED.get(obj, {}):
        return "no plan (the method did not run through the executor)"
    return prepared_graph(obj, method).plans.explain()


def compare_arrays(got: dict, ref: dict, rtol: float | None, atol: float | None,
                   what: str) -> list[dict]:
    """One row per reference output: shape, max abs/rel difference, tolerance used, ok."""
    missing = sorted(set(ref) - set(got))
    if missing:
        raise CLIError(f"--compare: {what} has {missing[0]!r} but the model's outputs are "
                       f"{sorted(got)}")
    return [_row(name, got[name], ref[name], rtol, atol) for name in sorted(ref)]


def _row(name: str, got: np.ndarray, want: np.ndarray, rtol: float | None,
         atol: float | None) -> dict:
    row: dict = {"name": name, "shape": list(got.shape), "dtype": str(got.dtype), "ok": False}
    if got.shape != want.shape:
        row["error"] = f"shape {list(got.shape)} != reference {list(want.shape)}"
        return row
    if got.dtype != want.dtype and (got.dtype.kind in "biuU" or want.dtype.kind in "biuU"):
        row["error"] = f"dtype {got.dtype} != reference {want.dtype}"
        return row
    if got.dtype.kind not in "biufc":
        row.update(max_abs_error=0.0, max_rel_error=0.0, rtol=0.0, atol=0.0)
        row["ok"] = bool(np.array_equal(got, want))
        if not row["ok"]:
            row["error"] = "values differ"
        return row
    drtol, datol = tolerance(got.dtype)
    rtol = drtol if rtol is None else rtol
    atol = datol if atol is None else atol
    kind = np.complex128 if "c" in (got.dtype.kind, want.dtype.kind) else np.float64
    g, w = got.astype(kind), want.astype(kind)
    both_nan = np.isnan(g) & np.isnan(w)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(both_nan | (g == w), 0.0, np.abs(g - w))     # equal infs: no difference
        rel = np.where(w != 0, diff / np.where(w != 0, np.abs(w), 1.0),
                       np.where(diff == 0, 0.0, np.inf))
    diff = np.where(np.isnan(diff), np.inf, diff)          # NaN on one side only
    rel = np.where(np.isnan(rel), np.inf, rel)
    row["max_abs_error"] = float(diff.max()) if diff.size else 0.0
    row["max_rel_error"] = float(rel.max()) if rel.size else 0.0
    row["rtol"], row["atol"] = rtol, atol
    allowed = atol + rtol * np.where(np.isfinite(w), np.abs(w), 0.0)    # an inf: exactly
    row["ok"] = bool(np.all(diff <= allowed))
    return row


def failure_line(failed: list[dict], what: str) -> str:
    """The one error line of a failed comparison."""
    r = failed[0]
    why = r.get("error") or (f"max abs error {r['max_abs_error']:.3g}, max rel error "
                             f"{r['max_rel_error']:.3g} exceed rtol={r['rtol']:g}, "
                             f"atol={r['atol']:g}")
    return f"--compare: {len(failed)} output(s) differ from {what}; {r['name']}: {why}"
