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
from graphtorch.runtime.c_elementwise import (
    PARALLEL_MIN,
    Unsupported,
    ctype,
    element_code,
    operand_kinds,
    prelude,
)
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


def find_groups(block, rank, lone=None) -> list[list]:
    """Groups (two or more member nodes, in program order) of reductions of one value in
    ``block`` and its nested blocks whose dims are a prefix or a suffix at one common split,
    and lone reductions of an elementwise group's value (:func:`prologue_of`) or that
    ``lone(node, member, ndim)`` accepts (``c_reduce_epilogue.find_groups``: one with an
    epilogue); ``rank(node)``: the input's rank when the plan may run ``node`` on arrays (its
    recording fixed a float tensor input), else None. A value's reductions at different splits
    make several groups (the split covering most of them first)."""
    by_input: dict = {}
    found: list[list] = []
    for node in block.nodes:
        for b in node.blocks:
            found += find_groups(b, rank, lone)
        m = member_of(node)
        ndim = rank(node) if m is not None else None
        if ndim:
            by_input.setdefault(node.inputs[0], []).append((node, _splits(m, ndim), m, ndim))
    for cands in by_input.values():
        while len(cands) >= 2:
            counts: dict = {}
            for c in cands:
                for k in c[1]:
                    counts[k] = counts.get(k, 0) + 1
            if not counts or max(counts.values()) < 2:
                break
            k = min(counts, key=lambda s: (-counts[s], s))
            found.append([c[0] for c in cands if k in c[1]])
            cands = [c for c in cands if k not in c[1]]
        for node, ks, m, ndim in cands:     # one reduction: with a prologue or an epilogue
            if ks and (prologue_of([node]) is not None or
                       (lone is not None and lone(node, m, ndim))):
                found.append([node])
    return found


def prologue_of(nodes: list):
    """The elementwise FusionGroup computing the value ``nodes`` reduce, when its value is
    that group's only output and nothing but ``nodes`` reads it (so the sweep can compute it
    in place of reading it), else None."""
    x = nodes[0].inputs[0]
    fg = x.node
    if fg is None or fg.kind != "prim::FusionGroup" or len(fg.outputs) != 1 or \
            fg.block is not nodes[0].block:
        return None
    return fg if {u.node for u in x.uses} == set(nodes) else None


# --- layout -------------------------------------------------------------------------------------
def reduced_run(dim, ndim: int) -> tuple[int, int] | None:
    """The dims ``dim`` reduces of an input of rank ``ndim`` as ``[a, b)``, or None (not
    adjacent, repeated, invalid)."""
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
    run = reduced_run(m.args[0], ndim)
    if run is None:
        return set()
    a, b = run
    return ({a} if b == ndim else set()) | ({b} if a == 0 else set())


def split_roles(members: list[Member], ndim: int) -> tuple[int, list[str]] | None:
    """(split k, 'row' or 'col' per member) when every member's dims are a suffix or a prefix
    at one common split, else None."""
    splits = None
    for m in members:
        mine = _splits(m, ndim)
        splits = mine if splits is None else splits & mine
    if not splits:
        return None
    k = min(splits)
    return k, ["row" if reduced_run(m.args[0], ndim) == (k, ndim) else "col" for m in members]


def _correction(m: Member) -> float | None:
    """var's correction as a float (None: not a number: the single kernel decides)."""
    c = m.args[1]
    if c is None:
        return 1.0
    return float(c) if type(c) in (int, float) else None


# --- C source -----------------------------------------------------------------------------------
# NOTE: the body is a static ``rows`` called by ``kernel``: the shape of an elementwise kernel,
# so that in a big batch, group kernels differing only in their value literals (an epilogue's
# constants in repeated blocks) share one compiled body (c_backend._shared_bodies)
_TEMPLATE = """
static void rows(void *const *P, const int64_t *I, const double *D) {{
  long np_ = I[0], nq = I[1];
{inputs}
  double* restrict acc = (double*)P[{na}];
  {T}* restrict ext = ({T}*)P[{na} + 1];
  {T}* restrict rowbuf = ({T}*)P[{na} + 2];
{outs}
{decls}
  (void)D; (void)acc; (void)ext; (void)rowbuf;
{col_init}
  #pragma omp parallel for schedule(static) num_threads(GT_THREADS) \\
      if (GT_THREADS > 1 && {rows_only} && np_ * nq >= {par})
  for (long p = 0; p < np_; p++) {{
{row_setup}
    double s = 0;
    {T} mx = -INFINITY, mn = INFINITY;
    int nan = 0;
    double r = 1.0 / (double)(p + 1);
    (void)s; (void)mx; (void)mn; (void)nan; (void)r;
    #pragma omp simd {clauses}
    for (long j = 0; j < nq; j++) {{
{load}
{sweep}
    }}
{row_tail}
{tail}
  }}
{col_tail}
}}

void kernel(void *const *P, const int64_t *I, const double *D) {{
  rows(P, I, D);
}}
"""


@dataclass(frozen=True)
class Prologue:
    """The elementwise group computing the reduced value, inlined into the sweep: its
    parameter names and C statements (``c_elementwise.element_code``), each parameter's kind
    (array dtype or scalar type), each array's indexing (``f``: the full input, contiguous;
    ``s``: one element), and the temp holding the value."""

    params: tuple
    stmts: tuple
    kinds: tuple
    modes: tuple
    out: str


def _prologue_code(T: str, pro: Prologue | None, row_var: bool) -> tuple[str, str, str, int]:
    """(input declarations, per-row setup, per-element load, number of input pointers)."""
    if pro is None:
        return (f"  const {T}* restrict x = (const {T}*)P[0];",
                f"    const {T}* restrict xr = x + p * nq;", f"      {T} v = xr[j];", 1)
    decls, setup, loads = [], [], []
    npt, ni, nd = 0, 2, 0
    arrays = [(n, k) for n, k in zip(pro.params, pro.kinds) if isinstance(k, np.dtype)]
    for (name, kind), mode in zip(arrays, pro.modes):
        ct = ctype(kind)
        decls.append(f"  const {ct}* restrict {name}_p = (const {ct}*)P[{npt}];")
        npt += 1
        setup.append(f"    const {ct}* restrict {name}_r = {name}_p"
                     f"{' + p * nq' if mode == 'f' else ''};")
        loads.append(f"      {ct} {name} = {name}_r[{'j' if mode == 'f' else '0'}];")
    for name, kind in zip(pro.params, pro.kinds):
        if kind is float:
            decls.append(f"  double {name} = D[{nd}];")
            nd += 1
        elif not isinstance(kind, np.dtype):
            decls.append(f"  int64_t {name} = I[{ni}];")
            ni += 1
    # NOTE: a row var's second pass reads the row's values back from rowbuf
    setup.append(f"    const {T}* restrict xr = rowbuf;")
    loads += [f"      {st}" for st in pro.stmts]
    loads.append(f"      {T} v = ({T})({pro.out});" + (" rowbuf[j] = v;" if row_var else ""))
    return "\n".join(decls), "\n".join(setup), "\n".join(loads), npt


def generate(dt: np.dtype, members: list[Member], roles: list[str],
             prologue: Prologue | None = None, decls: str = "", tail: str = "") -> str:
    """C source of one group kernel: ``P`` = the input (or the prologue's arrays), the double,
    T and row scratch, then one output per member; ``I`` = (P, Q, prologue ints), ``D`` = the
    prologue's floats. ``decls`` and ``tail`` (declarations, then code run at the end of each
    row, after the row results are stored) carry an epilogue (``c_reduce_epilogue.py``)."""
    T = "float" if dt == np.float32 else "double"
    rows = {m.op_name for m, r in zip(members, roles) if r == "row"}
    cols = {m.op_name for m, r in zip(members, roles) if r == "col"}
    row_var = "var" in {m.op_name for m, r in zip(members, roles) if r == "row"}
    inputs, row_setup, load, na = _prologue_code(T, prologue, row_var)
    outs = "\n".join(f"  {T}* restrict y{i} = ({T}*)P[{na + 3 + i}];"
                      for i in range(len(members)))
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
        T=T, inputs=inputs, na=na, row_setup=row_setup, load=load, outs=outs, decls=decls,
        tail=tail,
        col_init="\n".join(col_init), rows_only=int(not cols and prologue is None),
        par=PARALLEL_MIN, clauses=" ".join(clauses), sweep="\n".join(sweep),
        row_tail="\n".join(row_tail), col_tail="\n".join(col_tail))


# --- running ------------------------------------------------------------------------------------
_DUMMY = np.empty(1, np.float64)


class _Pending(Exception):
    """Raised in :meth:`ReduceGroup.pending_sources` where the call would compile."""


def member_ops(fusion_group) -> list[str]:
    """The op names of a FusionGroup node's members (a kernel's name in the plan listing)."""
    return [n.kind[4:] for n in fusion_group.attrs["subgraph"].nodes()
            if n.kind.startswith("op::")]


class ReduceGroup:
    """``group(*args) -> tuple of arrays``, one per member: one C sweep where the call fits,
    else each member's single kernel. ``args``: the reduced array, or with a ``prologue`` (the
    ``FusionRunner`` of the elementwise group whose only output is the reduced value) that
    group's arguments: the value is computed inside the sweep and never stored."""

    def __init__(self, members: list[Member], prologue=None, name: str | None = None):
        self.members = members
        self.prologue = prologue
        self.singles = [ReduceKernel(REGISTRY.get(m.op_name)) for m in members]
        self.launch = launcher()
        self.backend = "c"
        # NOTE: the input geometry -> its launch, or False; the disk plan cache saves it
        # (runtime/plan_store.py) and checks a loaded one with :meth:`shape_plan`
        self.layouts: dict = {}
        self.kernels: dict = {}  # source variant -> address
        self._pending: list | None = None  # NOTE: set by pending_sources: collect, not compile
        labels = ", ".join(m.label() for m in members)
        self.name = f"reduction group [{labels}]" if name is None else name
        if prologue is not None and name is None:
            self.name += f" + prologue [{', '.join(member_ops(prologue.node))}]"
        self.detail = "one sweep of C-contiguous float input (rows and columns at one split)"

    def __call__(self, *args) -> tuple:
        if self.prologue is None:
            return self._reduce(args[0])
        key = tuple([(a.shape, a.strides, a.dtype) if type(a) is np.ndarray else type(a)
                     for a in args])
        lay = self.layouts.get(key)
        if lay is None:
            lay = self.layouts[key] = self._fused_layout(list(args))
        if not lay:
            return self._reduce(self.prologue(list(args))[0])
        addr, p, q, shapes, (nd, nt), dt, arrays, ints, floats = lay
        outs = tuple(np.empty(s, dt) for s in shapes)
        scratch = (np.empty(nd * q, np.float64), np.empty(nt * q, dt), np.empty(q, dt))
        self.launch(addr, (*[args[i] for i in arrays], *scratch, *outs),
                    (p, q, *[int(args[i]) for i in ints]), tuple(args[i] for i in floats))
        return outs

    def _reduce(self, x) -> tuple:
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
        self.launch(addr, (x, acc, ext, _DUMMY, *outs), (p, q), ())
        return outs

    def shape_plan(self, shape: tuple, dt: np.dtype):
        """(roles, P, Q, output shapes, scratch sizes) for reducing a value of this shape and
        dtype in one sweep, or False."""
        if dt not in _FLOATS or len(shape) == 0 or 0 in shape:
            return False
        for m in self.members:
            if m.op_name in ("sum", "mean") and m.args[2] is not None:   # dtype=
                return False
            if m.op_name == "var" and _correction(m) is None:
                return False
        split = split_roles(self.members, len(shape))
        if split is None:
            return False
        k, roles = split
        p = int(np.prod(shape[:k], dtype=np.int64))
        q = int(np.prod(shape[k:], dtype=np.int64))
        shapes = []
        for m, role in zip(self.members, roles):
            keep = m.args[2] if m.op_name == "var" else m.args[1]
            if role == "row":
                shapes.append(shape[:k] + ((1,) * (len(shape) - k) if keep else ()))
            else:
                shapes.append(((1,) * k if keep else ()) + shape[k:])
        cols = {m.op_name for m, r in zip(self.members, roles) if r == "col"}
        scratch = (3 if cols & {"sum", "mean", "var"} else 0, 2 if cols & {"amax", "amin"} else 0)
        return roles, p, q, tuple(shapes), scratch

    def _compiled(self, key, source) -> int | None:
        addr = self.kernels.get(key)
        if addr is None:
            try:
                src = source()
                if self._pending is not None:
                    self._pending.append(src)
                    raise _Pending
                addr = address(c_backend.load(src))
            except (c_backend.CompileError, Unsupported):
                return None
            self.kernels[key] = addr
        return addr

    def pending_sources(self, *args) -> list[str]:
        """The C source a call with ``args`` would compile first (none when its kernel is
        loaded), without compiling it or running anything: the plan compiles the sources of
        all its groups in one batch (``plan_codegen.prebuild``), then each group's first call
        loads its kernel from there."""
        self._pending = []
        try:
            self(*args)
        except _Pending:
            pass
        finally:
            found, self._pending = self._pending, None
        return found

    def _layout(self, x):
        """The launch for inputs of this shape and dtype, or False (the single kernels)."""
        plan = self.shape_plan(x.shape, x.dtype)
        if not plan:
            return False
        roles, p, q, shapes, scratch = plan
        addr = self._compiled((x.dtype, tuple(roles)),
                              lambda: generate(x.dtype, self.members, roles))
        return False if addr is None else (addr, p, q, shapes, scratch)

    def _fused_layout(self, args: list):
        """The launch computing the prologue inside the sweep for these arguments, or False
        (the prologue's group runs, then :meth:`_reduce`): every array the full shape and
        C-contiguous, or one element; numbers as scalars."""
        try:
            kinds = operand_kinds(args)
        except Unsupported:
            return False
        arrays = [a for a in args if type(a) is np.ndarray]
        if not arrays or type(None) in kinds:
            return False
        try:
            full = np.broadcast_shapes(*[a.shape for a in arrays])
        except ValueError:
            return False
        modes = []
        for a in arrays:
            if a.shape == full and a.flags.c_contiguous:
                modes.append("f")
            elif a.size == 1:
                modes.append("s")
            else:
                return False
        fused = self.prologue.fused
        spec = fused.spec(args)
        if spec is None or len(spec.out_dtypes) != 1 or not fused._outputs_full(args, full):
            return False
        dt = np.dtype(spec.out_dtypes[0])
        plan = self.shape_plan(full, dt)
        if not plan:
            return False
        roles, p, q, shapes, scratch = plan

        def source():
            params, stmts = element_code(spec, kinds)
            pro = Prologue(tuple(params), tuple(stmts), tuple(kinds), tuple(modes),
                           spec.out_temps[0])
            return generate(dt, self.members, roles, pro)

        addr = self._compiled((id(spec), tuple(kinds), tuple(modes), tuple(roles)), source)
        if addr is None:
            return False
        where = [i for i, a in enumerate(args) if type(a) is np.ndarray]
        ints = [i for i, k in enumerate(kinds) if k is int or k is bool]  # NOTE: dtype == int
        floats = [i for i, k in enumerate(kinds) if k is float]
        return addr, p, q, shapes, scratch, dt, where, ints, floats


def available() -> bool:
    return c_backend.available()
