"""The plan's static memory plan, part two: outputs written into input arrays that die there.

``plan_release.py`` drops each intermediate array after its last use. This module lets the
kernel at that last use write its output into the dying array instead of allocating a fresh
one (TorchScript's and XLA's buffer reuse, decided per kernel):

* **which inputs may be reused** (static, when the plan is emitted, :func:`dead_inputs`): a
  tensor value computed by a node of the same block as the kernel (never a graph input, a
  parameter, a constant, a block parameter or loop-carried value, an ``if``/loop result), read
  by this kernel once and otherwise only by nodes before it: not returned (a block's return
  is a use), not saved for backward (the forward graph returns what it saves), not read by any
  later node (a loop body's value read on the next iteration is a block output: a use);
* **whether this call's array may be written** (dynamic, one test in the plan's code): the
  array owns its memory (``base is None``: not a view of something else) and the plan's local
  holds the only reference (``sys.getrefcount`` equals :data:`SOLE`): no view taken of it by
  an earlier node, no other name, Tensor, list, Python fallback or kernel cache holding it;
* **which kernels** (per geometry): a C fusion group stores output ``i`` into argument ``p``
  when ``p`` has the output's exact shape, dtype and C-contiguous strides (no broadcasting of
  that input: element ``j`` is read only to store element ``j``) and the output is at least
  :data:`MIN_BYTES` (chosen on the recorded call's arrays). The C variant passes the pair
  as one writable ``restrict`` pointer (``c_elementwise.generate``'s ``alias``), so no two
  ``restrict`` pointers alias. A binary ``add`` / ``sub`` / ``mul`` / ``div`` the plan calls on
  two float numpy arrays of one dtype and shape becomes ``np.add(a, b, out=a)`` (numpy ufuncs
  allow an output identical to an input; a CUDA plan's CuPy arrays are not written in place:
  untested on a GPU). Reductions, row kernels (softmax, layer_norm), matmuls and
  broadcast inputs never write into their input.

``GT_PLAN_REUSE=0`` turns the reuse off (every kernel allocates; for measurements, see
``benchmarks/plan_memory.py``). ``graphtorch.jit.explain`` lists the kernels that may write in
place, and into which value.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from graphtorch.ir import types as T

# producers whose value is another value's array (a branch's or loop's result, a constant)
_NOT_FRESH = frozenset({"prim::Constant", "prim::If", "prim::Loop", "prim::Param",
                        "prim::TupleUnpack", "prim::ListUnpack", "prim::TupleIndex",
                        "prim::ListIndex", "prim::DictIndex", "prim::unchecked_cast",
                        "prim::Uninitialized"})
# a fusion group gets an in-place C variant only for outputs of at least this many bytes: below,
# a fresh array is a cheap allocation and the extra variant would only cost compile time
MIN_BYTES = 1 << 16
# binary ops whose plan kernel on two same-dtype float arrays of one shape is this ufunc
UFUNCS = {"add": "np.add", "sub": "np.subtract", "mul": "np.multiply", "div": "np.true_divide"}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def enabled() -> bool:
    """Whether plans write outputs into dead inputs (``GT_PLAN_REUSE``, default on)."""
    return os.environ.get("GT_PLAN_REUSE", "1") != "0"


def _sole() -> int:
    def probe():
        a = np.empty(1)
        return sys.getrefcount(a)
    return probe()


# sys.getrefcount of an array a function's local alone refers to (2 on CPython 3.11)
SOLE = _sole()


def dead_inputs(node, graph, order: dict, deferred=frozenset()) -> list[int]:
    """Positions of ``node``'s tensor inputs whose value dies at ``node`` and which the plan
    itself computed (see the module docstring): the arrays it may write its output into.

    Every other use of such a value is a node of ``node``'s block (or nested in one) before
    ``node``; ``order`` caches each block's node positions; ``deferred``: nodes whose code
    reads their inputs later than their place (a fusion group computed inside a later
    reduction's sweep): never such uses, nor a ``linear``'s bias (it may wait for the
    activation after it)."""
    block = node.block
    pos = order.get(block)
    if pos is None:
        pos = order[block] = {n: i for i, n in enumerate(block.nodes)}
    here = pos.get(node)
    found = []
    for p, v in enumerate(node.inputs):
        if not isinstance(v.type, T.TensorType) or v in graph.inputs or here is None:
            continue
        producer = v.node
        if producer is None or producer.kind in _NOT_FRESH or producer.block is not block:
            continue
        if sum(x is v for x in node.inputs) != 1:
            continue
        if any(u.node.kind == "op::linear" and u.index >= 2 for u in v.uses):
            continue   # NOTE: a bias may be added at the activation after it (c_epilogue.py)
        if all(u.node is node or _before(u.node, block, pos, here, deferred) for u in v.uses):
            found.append(p)
    return found


def _before(user, block, pos: dict, here: int, deferred) -> bool:
    """Whether ``user`` (or the node of ``block`` it is nested in) runs before position
    ``here`` of ``block`` and reads nothing late."""
    while user is not None and user.block is not block:
        if user in deferred:
            return False
        owner = user.block.owner if user.block is not None else None
        user = owner
    if user is None or user in deferred:
        return False
    at = pos.get(user)   # NOTE: a block's return is no node of the list: never before
    return at is not None and at < here


def choose_alias(args: list, candidates: list[int], full: tuple, dts: list) -> tuple:
    """(output index, argument position) pairs for a fusion group's launch on ``args``: each
    output takes the first candidate of its exact shape and dtype, C-contiguous, of at least
    :data:`MIN_BYTES`."""
    pairs, taken = [], set()
    for i, dt in enumerate(dts):
        for p in candidates:
            a = args[p]
            if p not in taken and type(a) is np.ndarray and a.shape == tuple(full) and \
                    a.dtype == dt and a.flags.c_contiguous and a.size and \
                    a.nbytes >= MIN_BYTES:
                pairs.append((i, p))
                taken.add(p)
                break
    return tuple(pairs)


def plan_group(runner, node, graph, order: dict, deferred, args: list) -> None:
    """Let ``runner`` (a fusion group's, plan_codegen.py) write outputs into the inputs that
    die at ``node``: its alias pairs, chosen on the recorded call's ``args``, and their C
    variant's launch for that geometry (none: ``runner.alias`` stays empty)."""
    dead = dead_inputs(node, graph, order, deferred) if runner.c is not None else []
    lay = runner.c.layout(args) if dead else None
    if lay is None:
        return
    runner.alias = choose_alias(args, dead, lay[1], lay[2])
    if runner.alias and not add_inplace(runner, args):
        runner.alias = ()


def add_inplace(runner, args: list) -> bool:
    """Put the in-place launch of ``runner.alias`` for these arguments' geometry in the
    runner's ``fast`` table, under ("inplace", geometry, alias), compiling that C variant;
    False where the geometry does not allow it."""
    lay = runner.c.inplace_layout(args, runner.alias) if runner.c is not None and \
        runner.alias else None
    if lay is None:
        return False
    addr, full, dts, ints = lay
    geometry = tuple(x for a in args if type(a) is np.ndarray
                     for x in (a.shape, a.strides, a.dtype))
    runner.fast["inplace", geometry, runner.alias] = (full, *dts, addr, ints)
    return True


def alias_of(runner) -> tuple:
    """``runner.alias``; a runner made for a plan loaded from the disk cache (whose table
    holds the saved launches) takes it from its table's in-place keys."""
    if not runner.alias:
        runner.alias = next((k[2] for k in runner.fast if k and k[0] == "inplace"), ())
    return runner.alias


def inplace_source(ckernel, args: list, dead: list[int]) -> str | None:
    """The C source of the in-place variant :func:`plan_group` would build (None: none),
    for ``plan_codegen.prebuild`` to compile with the plan's other kernels."""
    geo = ckernel._geometry(args) if dead else None
    alias = choose_alias(args, dead, geo[1], geo[0].out_dtypes) if geo else ()
    return ckernel.pending_inplace_source(args, alias) if alias else None


def owned_test(names: list[str]) -> str:
    """The plan's test that these locals hold arrays nothing else refers to."""
    return " and ".join(f"_rc({n}) == {SOLE} and {n}.base is None" for n in names)


def ufunc_candidate(op, node, graph, args: list[str], vals: list[str], one, order: dict,
                    deferred) -> tuple | None:
    """(ufunc, position of the dead argument) when ``node`` (a plan kernel call) may run as
    ``ufunc(a, b, out=<dead argument>)``: a binary add/sub/mul/div with the default alpha /
    rounding, both arguments float arrays (not 0-d) of one dtype, no casts."""
    ufunc = UFUNCS.get(op.name)
    if ufunc is None or len(node.inputs) < 2:
        return None
    arg_kinds, out_kinds, casts = one
    kinds = arg_kinds[:2]
    if casts or len(out_kinds) != 1 or any(
            not (type(k) is tuple and k and k[0] == "T" and k[1] in _FLOATS and not k[2])
            for k in (*kinds, out_kinds[0])) or len({k[1] for k in kinds}) != 1:
        return None
    rest = vals[2:]
    if op.name in ("add", "sub") and rest not in ([], ["1"]):
        return None
    if op.name == "div" and rest not in ([], ["None"]):
        return None
    if op.name == "mul" and rest:
        return None
    dead = [p for p in dead_inputs(node, graph, order, deferred)
            if p < 2 and vals[p] == args[p]]
    return (ufunc, dead[0]) if dead else None


def ufunc_code(candidate: tuple, vals: list[str]) -> tuple[str, str]:
    """(test, call) of :func:`ufunc_candidate`'s in-place form: the dead argument is ours and
    has the other's shape and dtype (no broadcasting into it)."""
    fn, p = candidate
    dead, other = vals[p], vals[1 - p]
    # NOTE: numpy arrays only: a CUDA plan's CuPy arrays keep allocating (never run on a GPU)
    test = f"type({dead}) is np.ndarray and type({other}) is np.ndarray and " \
        f"{owned_test([dead])} and {dead}.shape == {other}.shape and " \
        f"{dead}.dtype == {other}.dtype"
    return test, f"{fn}({vals[0]}, {vals[1]}, out={dead})"


def describe(pairs: list[tuple[str, str]]) -> str:
    """The explain text of a kernel that may write outputs into dead inputs."""
    into = ", ".join(f"{out} into {arg}" for out, arg in pairs)
    return f"in place when dead: {into}"


_EFFECTS = frozenset({"prim::Inplace", "prim::PythonOp", "prim::CallMethod",
                      "prim::CallFunction", "prim::SetAttr"})


def applies(graph) -> bool:
    """Whether a plan of ``graph`` may reuse dead arrays: reuse is on and no node writes a
    tensor in place or runs Python code (list and dict copies are fine)."""
    if not enabled():
        return False
    return not any(n.kind in _EFFECTS or (n.kind.startswith("op::") and n.kind.endswith("_"))
                   for n in graph.walk())
