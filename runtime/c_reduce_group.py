"""Reduction groups: several reductions of one tensor computed in one sweep of a C kernel.

Reductions (``sum``, ``mean``, ``amax``, ``amin``, ``var``) that read the same value with
constant arguments form a group (:func:`find_groups`): the plan calls one
:class:`ReduceGroup` where the first of them stood and gets every member's result. The
kernel views the input as ``(P, Q)`` split at one dimension ``k``: *row* members reduce the
trailing dims ``[k, ndim)`` (one result per row), *column* members the leading dims
``[0, k)`` (one result per column). It walks the rows once: a row's sum, max, min and NaN flag
accumulate in one SIMD loop that also updates the column accumulators (contiguous, so the
column side vectorizes as well); a row ``var`` makes its second pass over the row while it is
in cache (two-pass, as the single reductions). ``x.sum(0) + x.mean(1) ... x.amin(0)`` of a
matrix reads the matrix once instead of once per reduction.

Numerics as the single kernels (``c_reduce.py``): sums accumulate in double and round once,
``amax``/``amin`` propagate NaN, ``var`` divides by ``max(n - correction, 0)``. A column
``var`` is one pass of Welford's update per column in double (no second sweep over the input):
within ``n * 2**-52`` relative of the two-pass value, far inside the float32 and float64
tolerances of docs/fusion.md.

A call the kernel does not cover — an integer or strided input, a ``dtype=`` argument, an
empty input, dims that are not a prefix or suffix at one common split, an invalid dim —
runs each member's single kernel (``c_reduce.ReduceKernel``), which takes the eager kernel
(and raises its errors) where C does not fit: the results are the ungrouped plan's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphtorch.ops.meta import normalize_dims
from graphtorch.ops.registry import REGISTRY
from graphtorch.runtime import c_backend
from graphtorch.runtime.c_elementwise import PARALLEL_MIN, prelude
from graphtorch.runtime.c_launch import address, launcher
from graphtorch.runtime.c_reduce import ReduceKernel

GROUP_OPS = ("sum", "mean", "amax", "amin", "var")
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


@dataclass(frozen=True)
class Member:
    """One reduction of a group: its op and its arguments after the input (constants)."""

    op_name: str
    args: tuple

    def label(self) -> str:
        dim = self.args[0] if self.args else None
        return f"{self.op_name}({'' if dim is None else dim})"


# --- grouping (on the plan's graph) ------------------------------------------------------------
def _static(v):
    """The value of a constant argument (a list of constants too), or raise LookupError."""
    if v.is_constant:
        return v.node.attrs["value"]
    node = v.node
    if node is not None and node.kind == "prim::ListConstruct" and \
            all(x.is_constant for x in node.inputs):
        return [x.node.attrs["value"] for x in node.inputs]
    raise LookupError(v)


def member_of(node) -> Member | None:
    """The group member ``node`` would be: a reduction whose arguments after the input are
    constants (None: not one)."""
    if not node.kind.startswith("op::") or node.kind[4:] not in GROUP_OPS or \
            len(node.outputs) != 1 or not node.inputs:
        return None
    op = REGISTRY.get(node.kind[4:])
    try:
        given = [_static(v) for v in node.inputs[1:]]
    except LookupError:
        return None
    tail = op.binder.defaults[len(node.inputs):len(op.schema.args)]
    return Member(op.name, tuple(given) + tuple(tail))


def find_groups(block, rank) -> list[list]:
    """Groups (two or more member nodes, in program order) of reductions of one value in
    ``block`` and its nested blocks whose dims are a prefix or a suffix at one common split;
    ``rank(node)``: the input's rank when the plan may run ``node`` on arrays (its recording
    fixed a float tensor input), else None. A value's reductions at different splits make
    several groups (the split covering most of them first)."""
    by_input: dict = {}
    found: list[list] = []
    for node in block.nodes:
        for b in node.blocks:
            found += find_groups(b, rank)
        m = member_of(node)
        ndim = rank(node) if m is not None else None
        if ndim:
            by_input.setdefault(node.inputs[0], []).append((node, _splits(m, ndim)))
    for cands in by_input.values():
        while len(cands) >= 2:
            counts: dict = {}
            for _, ks in cands:
                for k in ks:
                    counts[k] = counts.get(k, 0) + 1
            if not counts or max(counts.values()) < 2:
                break
            k = min(counts, key=lambda s: (-counts[s], s))
            found.append([n for n, ks in cands if k in ks])
            cands = [(n, ks) for n, ks in cands if k not in ks]
    return found


# --- layout -------------------------------------------------------------------------------------
def _run(dim, ndim: int) -> tuple[int, int] | None:
    """The reduced dims of ``dim`` as ``[a, b)``, or None (not adjacent, repeated, invalid)."""
    if dim is None or (type(dim) in (list, tuple) and len(dim) == 0):
        return 0, ndim
    try:
        dims = sorted(normalize_dims(dim, ndim))
    except Exception:  # noqa: BLE001 - the single kernels raise PyTorch's error
        return None
    if len(set(dims)) != len(dims) or dims != list(range(dims[0], dims[-1] + 1)):
        return None
    return dims[0], dims[-1] + 1


def _splits(m: Member, ndim: int) -> set[int]:
    """The splits ``k`` at which member ``m`` reduces a suffix ``[k, ndim)`` or a prefix
    ``[0, k)`` of an input of rank ``ndim`` (empty: neither)."""
    run = _run(m.args[0], ndim)
    if run is None:
        return set()
    a, b = run
    return ({a} if b == ndim else set()) | ({b} if a == 0 else set())


def _roles(members: list[Member], ndim: int) -> tuple[int, list[str]] | None:
    """(split k, 'row' or 'col' per member) when every member's dims are a suffix or a prefix
    at one common split, else None."""
    splits = None
    for m in members:
        mine = _splits(m, ndim)
        splits = mine if splits is None else splits & mine
    if not splits:
        return None
    k = min(splits)
    return k, ["row" if _run(m.args[0], ndim) == (k, ndim) else "col" for m in members]


def _correction(m: Member) -> float | None:
    """var's correction as a float (None: not a number: the single kernel decides)."""
    c = m.args[1]
    if c is None:
        return 1.0
    return float(c) if type(c) in (int, float) else None


# --- C source -----------------------------------------------------------------------------------
_TEMPLATE = """
void kernel(void *const *P, const int64_t *I, const double *D) {{
  long np_ = I[0], nq = I[1];
  const {T}* restrict x = (const {T}*)P[0];
  double* restrict acc = (double*)P[1];
  {T}* restrict ext = ({T}*)P[2];
{outs}
  (void)D; (void)acc; (void)ext;
{col_init}
  #pragma omp parallel for schedule(static) num_threads(GT_THREADS) \\
      if (GT_THREADS > 1 && {rows_only} && np_ * nq >= {par})
  for (long p = 0; p < np_; p++) {{
    const {T}* restrict xr = x + p * nq;
    double s = 0;
    {T} mx = -INFINITY, mn = INFINITY;
    int nan = 0;
    double r = 1.0 / (double)(p + 1);
    (void)s; (void)mx; (void)mn; (void)nan; (void)r;
    #pragma omp simd {clauses}
    for (long j = 0; j < nq; j++) {{
      {T} v = xr[j];
{sweep}
    }}
{row_tail}
  }}
{col_tail}
}}
"""


def generate(dt: np.dtype, members: list[Member], roles: list[str]) -> str:
    """C source of one group kernel: ``P`` = x, the double and T scratch, then one output per
    member; ``I`` = (P, Q)."""
    T = "float" if dt == np.float32 else "double"
    rows = {m.op_name for m, r in zip(members, roles) if r == "row"}
    cols = {m.op_name for m, r in zip(members, roles) if r == "col"}
    outs = "\n".join(f"  {T}* restrict y{i} = ({T}*)P[{3 + i}];" for i in range(len(members)))
    # column scratch: double [sum | mean | M2] x nq, T [max | min] x nq
    slot = {"sum": 0, "mean": 1, "M2": 2}
    tslot = {"amax": 0, "amin": 1}
    col_init, sweep, clauses = [], [], []
    if cols & {"sum", "mean"}:
        col_init.append("  for (long j = 0; j < nq; j++) acc[j] = 0;")
        sweep.append("      acc[j] += v;")
    if "var" in cols:
        col_init.append(f"  for (long j = 0; j < nq; j++) {{ acc[{slot['mean']} * nq + j] = 0; "
                        f"acc[{slot['M2']} * nq + j] = 0; }}")
        sweep.append(f"      {{ double d = v - acc[{slot['mean']} * nq + j]; "
                     f"acc[{slot['mean']} * nq + j] += d * r; "
                     f"acc[{slot['M2']} * nq + j] += d * (v - acc[{slot['mean']} * nq + j]); }}")
    for name, init, cmp in (("amax", "-INFINITY", ">"), ("amin", "INFINITY", "<")):
        if name in cols:
            e = f"ext[{tslot[name]} * nq + j]"
            col_init.append(f"  for (long j = 0; j < nq; j++) {e} = {init};")
            # NOTE: once NaN, neither test replaces it: NaN propagates
            sweep.append(f"      {e} = (v {cmp} {e} || v != v) ? v : {e};")
    if rows & {"sum", "mean", "var"}:
        sweep.append("      s += v;")
        clauses.append("reduction(+:s)")
    if "amax" in rows:
        sweep.append("      mx = v > mx ? v : mx;")
        clauses.append("reduction(max:mx)")
    if "amin" in rows:
        sweep.append("      mn = v < mn ? v : mn;")
        clauses.append("reduction(min:mn)")
    if rows & {"amax", "amin"}:
        sweep.append("      nan |= (v != v);")
        clauses.append("reduction(|:nan)")
    row_tail, col_tail = [], []
    if "var" in rows:
        row_tail += ["    double mean = s / (double)nq, ss = 0;",
                     "    #pragma omp simd reduction(+:ss)",
                     "    for (long j = 0; j < nq; j++) { double d = xr[j] - mean; ss += d * d; }"]
    for i, (m, role) in enumerate(zip(members, roles)):
        name = m.op_name
        corr = _correction(m) if name == "var" else 0.0
        denom = f"((double){{n}} - {corr!r} > 0 ? (double){{n}} - {corr!r} : 0.0)"
        if role == "row":
            value = {"sum": "s", "mean": "s / (double)nq", "amax": f"(nan ? ({T})NAN : mx)",
                     "amin": f"(nan ? ({T})NAN : mn)",
                     "var": "ss / " + denom.format(n="nq")}[name]
            row_tail.append(f"    y{i}[p] = ({T})({value});")
        else:
            value = {"sum": "acc[j]", "mean": "acc[j] / (double)np_",
                     "amax": f"ext[{tslot['amax']} * nq + j]",
                     "amin": f"ext[{tslot['amin']} * nq + j]",
                     "var": f"acc[{slot['M2']} * nq + j] / " + denom.format(n="np_")}[name]
            col_tail.append(f"  for (long j = 0; j < nq; j++) y{i}[j] = ({T})({value});")
    return prelude() + _TEMPLATE.format(
        T=T, outs=outs, col_init="\n".join(col_init), rows_only=int(not cols),
        par=PARALLEL_MIN, clauses=" ".join(clauses), sweep="\n".join(sweep),
        row_tail="\n".join(row_tail), col_tail="\n".join(col_tail))


# --- running ------------------------------------------------------------------------------------
class ReduceGroup:
    """``group(x) -> tuple of arrays``, one per member: one C sweep where the call fits, else
    each member's single kernel."""

    def __init__(self, members: list[Member]):
        self.members = members
        self.singles = [ReduceKernel(REGISTRY.get(m.op_name)) for m in members]
        self.launch = launcher()
        self.backend = "c"
        self.layouts: dict = {}  # (shape, dtype) -> (address, P, Q, shapes, scratch sizes)
        self.kernels: dict = {}  # (dtype, roles) -> address
        labels = ", ".join(m.label() for m in members)
        self.name = f"reduction group [{labels}]"
        self.detail = "one sweep of C-contiguous float input (rows and columns at one split)"

    def __call__(self, x) -> tuple:
        lay = None
        if type(x) is np.ndarray and x.flags.c_contiguous:
            key = (x.shape, x.dtype)
            lay = self.layouts.get(key)
            if lay is None:
                lay = self.layouts[key] = self._layout(x)
        if not lay:
            return tuple(k(x, *m.args) for k, m in zip(self.singles, self.members))
        addr, p, q, shapes, (nd, nt) = lay
        outs = tuple(np.empty(s, x.dtype) for s in shapes)
        acc = np.empty(nd * q, np.float64)
        ext = np.empty(nt * q, x.dtype)
        self.launch(addr, (x, acc, ext, *outs), (p, q), ())
        return outs

    def _layout(self, x):
        """The launch for inputs of this shape and dtype, or False (the single kernels)."""
        if x.dtype not in _FLOATS or x.ndim == 0 or x.size == 0:
            return False
        for m in self.members:
            if m.op_name in ("sum", "mean") and m.args[2] is not None:   # dtype=
                return False
            if m.op_name == "var" and _correction(m) is None:
                return False
        split = _roles(self.members, x.ndim)
        if split is None:
            return False
        k, roles = split
        p = int(np.prod(x.shape[:k], dtype=np.int64))
        q = int(np.prod(x.shape[k:], dtype=np.int64))
        shapes = []
        for m, role in zip(self.members, roles):
            keep = m.args[2] if m.op_name == "var" else m.args[1]
            if role == "row":
                shapes.append(x.shape[:k] + ((1,) * (x.ndim - k) if keep else ()))
            else:
                shapes.append(((1,) * k if keep else ()) + x.shape[k:])
        key = (x.dtype, tuple(roles))
        addr = self.kernels.get(key)
        if addr is None:
            try:
                addr = address(c_backend.load(generate(x.dtype, self.members, roles)))
            except c_backend.CompileError:
                return False
            self.kernels[key] = addr
        cols = {m.op_name for m, r in zip(self.members, roles) if r == "col"}
        scratch = (3 if cols & {"sum", "mean", "var"} else 0, 2 if cols & {"amax", "amin"} else 0)
        return addr, p, q, tuple(shapes), scratch


def available() -> bool:
    return c_backend.available()
