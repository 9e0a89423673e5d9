"""Reduction epilogues: the elementwise group reading row reductions, run in the same row loop.

``x - x.amax(1, keepdim=True)``, ``(x - x.mean(-1, keepdim=True)) / (x.var(-1, keepdim=True)
+ eps).sqrt() * w + b``: an elementwise FusionGroup that reads the results of a reduction
group (``c_reduce_group.py``) broadcast back over the reduced dims runs at the end of each row
of the group's sweep, while the row is in cache: one more pass over the row instead of another
kernel over the whole tensor. Its other arrays are the full input shape (C-contiguous), a row
repeated over the leading dims (``w``, ``b``: C-contiguous trailing dims) or one element; its
numbers are scalars. The group's C statements are the elementwise group's
(``c_elementwise.element_code``), renamed apart from the sweep's.

A reduction alone is a group of one when such an epilogue follows it (:func:`find_groups`):
``x - x.amax(1, keepdim=True)`` is one kernel. Every member must reduce the trailing dims with
``keepdim=True`` (a row result broadcasts back only then) and the group must read its input
(no prologue). A call that does not fit runs the
group, then the elementwise group as its own kernel: the results are the unfused plan's.
"""

from __future__ import annotations

import re

import numpy as np

from graphtorch.runtime import c_reduce_group
from graphtorch.runtime.c_elementwise import Unsupported, ctype, element_code, operand_kinds
from graphtorch.runtime.c_reduce_group import (
    ReduceGroup,
    generate,
    member_of,
    member_ops,
    reduced_run,
    split_roles,
)

_NAMES = re.compile(r"\b([at]\d+)\b")  # the elementwise group's parameters and temps


def _renamed(text: str) -> str:
    return _NAMES.sub(r"e_\1", text)


def kept_views(node, ndim: int) -> list:
    """The ``unsqueeze`` nodes giving back reduction ``node``'s result kept over its one reduced
    dim (``x.amax(1).unsqueeze(1)``: the value of ``x.amax(1, keepdim=True)``) on an input of
    rank ``ndim``."""
    m = member_of(node)
    if m is None or _keepdim(m) is not False:
        return []
    run = reduced_run(m.args[0], ndim)
    if run is None or run[1] - run[0] != 1:
        return []
    found = []
    for use in node.output.uses:
        u = use.node
        if u.kind != "op::unsqueeze" or len(u.inputs) != 2 or use.index != 0 or \
                not u.inputs[1].is_constant or u.block is not node.block:
            continue
        d = u.inputs[1].node.attrs["value"]
        if type(d) is int and -ndim <= d < ndim and (d + ndim if d < 0 else d) == run[0]:
            found.append(u)
    return found


def _keepdim(m):
    return m.args[2] if m.op_name == "var" else m.args[1]


def results_of(nodes: list, ndim: int | None) -> dict:
    """value -> (how, member index) for each result of ``nodes`` an epilogue may read:
    ``("member", i)`` the result itself, ``("kept", i)`` its keepdim view (:func:`kept_views`)."""
    out = {}
    for i, n in enumerate(nodes):
        out[n.output] = ("member", i)
        for u in kept_views(n, ndim) if ndim else ():
            out[u.output] = ("kept", i)
    return out


def epilogue_of(nodes: list, block_nodes: list, ndim: int | None = None):
    """The first elementwise FusionGroup after ``nodes`` (in their block) reading one of their
    results (or, on an input of rank ``ndim``, their keepdim views: :func:`kept_views`) whose
    other inputs all exist before the first of them (the group runs there), and which reads
    the results of members without ``keepdim`` only through those views; or None."""
    outs = results_of(nodes, ndim) if ndim else {n.output: ("member", i)
                                                 for i, n in enumerate(nodes)}
    flat = {i for i, n in enumerate(nodes) if _keepdim(member_of(n)) is not True}
    pos = {n: i for i, n in enumerate(block_nodes)}
    start = pos.get(nodes[0])
    if start is None:
        return None
    for n in block_nodes[start + 1:]:
        if n.kind != "prim::FusionGroup" or not any(v in outs for v in n.inputs) or \
                any(outs.get(v) in {("member", i) for i in flat} for v in n.inputs):
            continue
        if all(v in outs or v.node is None or v.node.block is not nodes[0].block
               or pos.get(v.node, len(block_nodes)) < start for v in n.inputs):
            return n
    return None


def find_groups(block, rank) -> list[list]:
    """``c_reduce_group.find_groups``, plus each lone reduction an epilogue can follow (a
    keepdim row reduction read by an elementwise group: ``x - x.amax(1, keepdim=True)``,
    ``x - x.amax(1).unsqueeze(1)``) as a group of one, so that its epilogue runs in its row
    loop."""
    return c_reduce_group.find_groups(block, rank, _lone)


def _lone(node, member, ndim: int) -> bool:
    return fits_nodes([node], ndim) and \
        epilogue_of([node], node.block.nodes, ndim) is not None


def fits(members: list, ndim: int, kept: tuple = ()) -> bool:
    """Whether a group of these members over an input of rank ``ndim`` can run an epilogue:
    every member a row reduction with ``keepdim=True`` or (``kept[i]``) read through its
    keepdim view."""
    split = split_roles(members, ndim)
    return split is not None and all(r == "row" for r in split[1]) and all(
        (m.args[2] if m.op_name == "var" else m.args[1]) is True or (i < len(kept) and kept[i])
        for i, m in enumerate(members))


def fits_nodes(nodes: list, ndim: int | None) -> bool:
    """:func:`fits` for reduction nodes (their keepdim views counted)."""
    if not ndim:
        return False
    members = [member_of(n) for n in nodes]
    return None not in members and fits(
        members, ndim, tuple(bool(kept_views(n, ndim)) for n in nodes))


class EpilogueGroup(ReduceGroup):
    """``group(x, *epilogue_args) -> members' results + the epilogue's outputs``.
    ``sources[i]``: the epilogue group's argument ``i`` is member ``k``'s result
    (``("member", k)``) or its keepdim view (``("kept", k)``: :func:`kept_views`), or the call's
    argument ``j`` after ``x`` (``("arg", j)``); ``runner``: the epilogue group's
    ``FusionRunner`` (the unfused path)."""

    def __init__(self, members, runner, sources: list[tuple[str, int]], name: str | None = None):
        super().__init__(members, name=name)
        self.runner = runner
        self.sources = sources
        if name is None:
            self.name += f" + epilogue [{', '.join(member_ops(runner.node))}]"
        self.detail = "one sweep of C-contiguous float input; the epilogue per row in cache"
        self.fused_layouts: dict = {}  # NOTE: saved by the disk plan cache, as ``layouts``

    def _args(self, results, extra, ndim: int) -> list:
        return [results[i] if kind == "member" else extra[i] if kind == "arg" else
                np.expand_dims(results[i], reduced_run(self.members[i].args[0], ndim)[0])
                for kind, i in self.sources]

    def __call__(self, x, *extra) -> tuple:
        key = ((x.shape, x.strides, x.dtype) if type(x) is np.ndarray else None,) + tuple(
            (a.shape, a.strides, a.dtype) if type(a) is np.ndarray else type(a) for a in extra)
        lay = self.fused_layouts.get(key)
        if lay is None:
            lay = self.fused_layouts[key] = self._epilogue_layout(x, list(extra))
        if not lay:
            results = self._reduce(x)
            return tuple(results) + tuple(self.runner(self._args(results, extra, x.ndim)))
        addr, p, q, shapes, (nd, nt), out_dts, arrays, ints, floats = lay
        outs = tuple(np.empty(s, x.dtype) for s in shapes)
        eouts = tuple(np.empty(x.shape, dt) for dt in out_dts)
        scratch = (np.empty(nd * q, np.float64), np.empty(nt * q, x.dtype), _ONE)
        self.launch(addr, (x, *scratch, *outs, *[extra[i] for i in arrays], *eouts),
                    (p, q, *[int(extra[i]) for i in ints]), tuple(extra[i] for i in floats))
        return outs + eouts

    def _epilogue_layout(self, x, extra: list):
        """The launch running the epilogue inside the sweep, or False."""
        if type(x) is not np.ndarray or not x.flags.c_contiguous:
            return False
        plan = self.shape_plan(x.shape, x.dtype)
        if not plan:
            return False
        roles, p, q, shapes, scratch = plan
        direct = {i for kind, i in self.sources if kind == "member"}
        if any(r != "row" for r in roles) or any(len(s) != x.ndim for i, s in enumerate(shapes)
                                                 if i in direct):
            return False        # NOTE: column results, or a row result without keepdim
        args = self._args([np.empty(s, x.dtype) for s in shapes], extra, x.ndim)
        try:
            kinds = operand_kinds(args)
        except Unsupported:
            return False
        if type(None) in kinds:
            return False
        modes = []
        for (kind, _), a in zip(self.sources, args):
            if kind != "arg":       # a member's row result, itself or its keepdim view
                modes.append("r")
            elif type(a) is not np.ndarray:
                modes.append(None)
            elif a.shape == x.shape and a.flags.c_contiguous:
                modes.append("f")
            elif a.size == 1:
                modes.append("s")
            elif _row_broadcast(a, x.shape, p, q):
                modes.append("c")
            else:
                return False
        try:
            full = np.broadcast_shapes(*[a.shape for a in args if type(a) is np.ndarray])
        except ValueError:
            return False
        fused = self.runner.fused
        spec = fused.spec(args)
        if full != x.shape or spec is None or not fused._outputs_full(args, full):
            return False
        key = ("epilogue", x.dtype, id(spec), tuple(kinds), tuple(modes))
        addr = self._compiled(key, lambda: self._source(x.dtype, roles, spec, kinds, modes))
        if addr is None:
            return False
        arrays = [j for (kind, j), a in zip(self.sources, args)
                  if kind == "arg" and type(a) is np.ndarray]
        ints = [j for (kind, j), t in zip(self.sources, kinds)
                if kind == "arg" and (t is int or t is bool)]  # NOTE: a dtype == int
        floats = [j for (kind, j), t in zip(self.sources, kinds) if kind == "arg" and t is float]
        return addr, p, q, shapes, scratch, list(spec.out_dtypes), arrays, ints, floats

    def _source(self, dt, roles, spec, kinds, modes) -> str:
        params, stmts = element_code(spec, kinds)
        base = 3 + len(self.members) + 1     # x, acc, ext, rowbuf, the members' results
        decls, loads = [], []
        npt, ni, nd = base, 2, 0
        for (_, i), name, t, mode in zip(self.sources, params, kinds, modes):
            name = _renamed(name)
            if mode == "r":
                loads.append(f"      {ctype(t)} {name} = y{i}[p];")
            elif mode is not None:
                ct = ctype(t)
                decls.append(f"  const {ct}* restrict {name}_p = (const {ct}*)P[{npt}];")
                npt += 1
                idx = {"f": "p * nq + j", "c": "j", "s": "0"}[mode]
                loads.append(f"      {ct} {name} = {name}_p[{idx}];")
            elif t is float:
                decls.append(f"  double {name} = D[{nd}];")
                nd += 1
            else:
                decls.append(f"  int64_t {name} = I[{ni}];")
                ni += 1
        stores = []
        for o, (temp, odt) in enumerate(zip(spec.out_temps, spec.out_dtypes)):
            ct = ctype(np.dtype(odt))
            decls.append(f"  {ct}* restrict eo{o} = ({ct}*)P[{npt}];")
            npt += 1
            stores.append(f"      eo{o}[p * nq + j] = {_renamed(temp)};")
        body = "\n".join(loads + [f"      {_renamed(st)}" for st in stmts] + stores)
        tail = f"    #pragma omp simd\n    for (long j = 0; j < nq; j++) {{\n{body}\n    }}"
        return generate(dt, self.members, roles, None, "\n".join(decls), tail)


_ONE = np.empty(1, np.float64)


def _row_broadcast(a: np.ndarray, shape: tuple, p: int, q: int) -> bool:
    """Whether ``a`` broadcasts over the leading (row) dims of ``shape`` only: its elements
    are one row's, C-contiguous."""
    pad = (1,) * (len(shape) - a.ndim) + a.shape
    if a.size != q or not a.flags.c_contiguous:
        return False
    # the trailing dims that make up q must match; every leading one must be 1
    k, acc = len(shape), 1
    while k > 0 and acc < q:
        k -= 1
        acc *= shape[k]
    return acc == q and all(d == 1 for d in pad[:k]) and pad[k:] == tuple(shape[k:])
