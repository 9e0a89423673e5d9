"""FusionGroup kernels for the CPU: numpy ufuncs over cache-sized chunks with ``out=`` buffers.

A group is compiled per *specialization* (each input's dtype and whether it is 0-d, or the type of
a scalar). The chunk body is generated Python, one ufunc call per expression node of the members'
lowerings (``ops/lowering.py``), each writing into a scratch buffer of one chunk (reused once its
value is dead) or straight into the output. The driver walks the broadcast output shape in chunks
of about ``CHUNK_ELEMENTS`` elements, so intermediates stay in cache instead of going to DRAM.

Semantics follow the eager kernels exactly where they matter: every member computes in the dtype
PyTorch promotion gives it (``dispatch.compute_dtype``), tensor operands are cast to it first, and
the member's result is cast to the dtype its eager kernel returns (both learnt by running the
kernel and the generated body on one-element probes). A member the ufunc path cannot express for
its dtypes (integer ``pow``, ``floor`` of ints ...) calls its eager kernel on the chunk. A call
whose shapes do not fit one broadcast output (an output smaller than the group's full shape, or
incompatible inputs) runs the group with the reference interpreter instead.
"""

from __future__ import annotations

import linecache
import math
import os
from dataclasses import dataclass

import numpy as np

from graphtorch import dtypes
from graphtorch.ops import lowering as L
from graphtorch.ops.dispatch import compute_dtype
from graphtorch.ops.registry import REGISTRY, Promotion
from graphtorch.ops.special import erf_array

CHUNK_ELEMENTS = 1 << 15  # per buffer; a handful of float32 buffers fit a 1-2 MiB L2


# --- helpers the generated code calls (out=None: allocate, as in the probe) --------------------
def _sigmoid(x, out=None):
    e = np.exp(-np.abs(x))
    r = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    if out is None:
        return r.astype(np.result_type(x), copy=False)
    np.copyto(out, r, casting="unsafe")
    return out


def _rsqrt(x, out=None):
    out = np.sqrt(x, out=out)
    return np.divide(1, out, out=out)


def _sign(x, out=None):
    out = np.sign(x, out=out)
    if out.dtype.kind == "f":
        np.copyto(out, 0, where=np.isnan(out))  # PyTorch: sign(nan) is 0
    return out


def _erf(x, out=None):
    r = erf_array(np, np.asarray(x))
    if out is None:
        return r
    np.copyto(out, r, casting="unsafe")
    return out


def _store(result, out=None):
    if out is None:
        return result
    np.copyto(out, result, casting="unsafe")
    return out


def _where(c, a, b, out=None):
    if out is None:
        return np.where(c, a, b)
    np.copyto(out, b, casting="unsafe")
    np.copyto(out, a, casting="unsafe", where=c)
    return out


def _clamp(x, lo, hi, out=None):
    if lo is None and hi is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if lo is not None:
        out = np.maximum(x, lo, out=out)
        x = out
    if hi is not None:
        out = np.minimum(x, hi, out=out)
    return out


def _cast(x, dtype, out=None):
    if out is None:
        return np.asarray(x).astype(dtype.np)
    np.copyto(out, x, casting="unsafe")
    return out


_UFUNC_CALLS = {
    "exp": "np.exp", "log": "np.log", "log2": "np.log2", "log10": "np.log10",
    "log1p": "np.log1p", "expm1": "np.expm1", "sqrt": "np.sqrt", "sin": "np.sin",
    "cos": "np.cos", "tan": "np.tan", "asin": "np.arcsin", "acos": "np.arccos",
    "atan": "np.arctan", "sinh": "np.sinh", "cosh": "np.cosh", "tanh": "np.tanh",
    "abs": "np.abs", "floor": "np.floor", "ceil": "np.ceil", "trunc": "np.trunc",
    "round": "np.round", "isnan": "np.isnan", "isinf": "np.isinf", "isfinite": "np.isfinite",
    "max": "np.maximum", "min": "np.minimum", "pow": "np.power", "atan2": "np.arctan2",
    "floordiv": "np.floor_divide", "mod": "np.remainder", "fmod": "np.fmod",
    "sigmoid": "_sigmoid", "rsqrt": "_rsqrt", "sign": "_sign", "erf": "_erf",
    "where": "_where", "clamp": "_clamp", "cast": "_cast",
}
_BINARY_CALLS = {
    "+": "np.add", "-": "np.subtract", "*": "np.multiply", "/": "np.true_divide",
    "==": "np.equal", "!=": "np.not_equal", "<": "np.less", "<=": "np.less_equal",
    ">": "np.greater", ">=": "np.greater_equal", "&&": "np.logical_and", "||": "np.logical_or",
    "^^": "np.logical_xor", "&": "np.bitwise_and", "|": "np.bitwise_or", "^": "np.bitwise_xor",
}
_UNARY_CALLS = {"-": "np.negative", "!": "np.logical_not", "~": "np.invert"}
# functions whose numpy form matches the eager kernel on integer and bool dtypes too
_INT_SAFE = {"max", "min", "where", "clamp", "cast", "abs", "isnan", "isinf", "isfinite",
             *_BINARY_CALLS, *_UNARY_CALLS} - {"/"}
_NAMESPACE = {"np": np, "inf": math.inf, "nan": math.nan, "_sigmoid": _sigmoid,
              "_rsqrt": _rsqrt, "_sign": _sign, "_erf": _erf, "_where": _where,
              "_clamp": _clamp, "_cast": _cast, "_store": _store}


def _value(o, w, probe_env):
    """The probe value of an operand: a probe array, a scalar input, or a literal."""
    if o.code in probe_env:
        return probe_env[o.code]
    return eval(o.code, dict(w.ns))  # noqa: S307 - our own literals


class _Fallback(Exception):
    """This specialization cannot run fused: use the interpreter for the group."""


@dataclass
class _Operand:
    code: str                 # a variable name or a Python literal
    is_tensor: bool
    zero_dim: bool = False


class _Meta:
    """A stand-in tensor for ``compute_dtype``: only dtype and shape are read."""

    def __init__(self, dtype, zero_dim: bool):
        self.dtype, self.shape = dtype, () if zero_dim else (1,)


def _fns_of(expr) -> set[str]:
    if isinstance(expr, L.Call):
        return {expr.fn}.union(*(_fns_of(a) for a in expr.args))
    if isinstance(expr, L.BinOp):
        return {expr.op} | _fns_of(expr.a) | _fns_of(expr.b)
    if isinstance(expr, L.UnaryOp):
        return {expr.op} | _fns_of(expr.a)
    return set()


class _BodyWriter:
    """Emits the chunk body: one ``tN = f(..., out=tN)`` statement per expression node."""

    def __init__(self, namespace: dict):
        self.lines: list[str] = []
        self.temps = 0
        self.ns = namespace

    def temp(self) -> str:
        self.temps += 1
        return f"t{self.temps}"

    def literal(self, value) -> str:
        if isinstance(value, (bool, int, float)) or value is None:
            return repr(value)
        name = f"k{len(self.ns)}"
        self.ns[name] = value
        return name

    def call(self, fn: str, args: list[str], comment: str = "") -> str:
        t = self.temp()
        tail = f"  # {comment}" if comment else ""
        self.lines.append(f"{t} = {fn}({', '.join(args)}, out={t}){tail}")
        return t

    def expr(self, e, args: dict[int, _Operand]) -> _Operand:
        if isinstance(e, L.Arg):
            return args[e.index]
        if isinstance(e, L.Const):
            return _Operand(repr(e.value), False)
        if isinstance(e, L.BinOp):
            a, b = self.expr(e.a, args), self.expr(e.b, args)
            if e.op == "*" and not a.is_tensor and a.code == "1":
                return b  # NOTE: add/sub's alpha=1 costs nothing
            if e.op == "*" and not b.is_tensor and b.code == "1":
                return a
            if not a.is_tensor and not b.is_tensor:
                return _Operand(f"({a.code} {_PY_BINARY.get(e.op, e.op)} {b.code})", False)
            return self.tensor(_BINARY_CALLS[e.op], [a, b])
        if isinstance(e, L.UnaryOp):
            a = self.expr(e.a, args)
            return self.tensor(_UNARY_CALLS[e.op], [a])
        ops = [self.expr(x, args) for x in e.args]
        return self.tensor(_UFUNC_CALLS[e.fn], ops)

    def tensor(self, fn: str, ops: list[_Operand]) -> _Operand:
        zero = all(o.zero_dim for o in ops if o.is_tensor)
        return _Operand(self.call(fn, [o.code for o in ops]), True, zero)


_PY_BINARY = {"&&": "and", "||": "or", "/": "/"}


@dataclass
class _Spec:
    source: str
    chunk: object            # the generated chunk function
    temps: list[tuple[str, np.dtype]]  # scratch buffers (name, dtype); outputs excluded
    out_temps: list[str]     # the temp holding each group output
    out_dtypes: list[np.dtype]
    tensor_inputs: list[int]


def _spec_key(args: list) -> tuple:
    key = []
    for a in args:
        if isinstance(a, np.ndarray):
            key.append((a.dtype, a.ndim == 0))
        else:
            key.append((type(a), a if not isinstance(a, (int, float)) else None))
    return tuple(key)


class FusedKernel:
    """A compiled FusionGroup: ``kernel(*args) -> list of output arrays`` (args as numpy)."""

    def __init__(self, node):
        self.node = node
        self.graph = node.attrs["subgraph"]
        self.specs: dict[tuple, _Spec | None] = {}
        self.name = f"fused_{id(node) & 0xffffff:x}"

    def spec(self, args: list) -> _Spec | None:
        key = _spec_key(args)
        hit = self.specs.get(key, _MISSING)
        if hit is _MISSING:
            try:
                hit = self._compile(args)
            except _Fallback:
                hit = None
            self.specs[key] = hit
        return hit

    # -- compilation ---------------------------------------------------------------------------
    def _compile(self, args: list) -> _Spec:
        ns = dict(_NAMESPACE)
        w = _BodyWriter(ns)
        env: dict[object, _Operand] = {}
        probe_env: dict[str, object] = {}
        params = []
        for i, (v, a) in enumerate(zip(self.graph.inputs, args)):
            name = f"a{i}"
            params.append(name)
            if isinstance(a, np.ndarray):
                env[v] = _Operand(name, True, a.ndim == 0)
                probe_env[name] = np.ones(1, a.dtype)
            else:
                env[v] = _Operand(name, False)
                probe_env[name] = a
        for n in self.graph.nodes():
            if n.kind == "prim::Constant":
                env[n.output] = _Operand(w.literal(n.attrs["value"]), False)
                continue
            op = REGISTRY[n.op_name]
            vals = [env[v] for v in n.inputs]
            vals += [_Operand(w.literal(d), False)
                     for d in op.binder.defaults[len(vals):len(op.schema.args)]]
            env[n.output] = self._member(w, op, vals, probe_env, dtypes)
        outs = [env[v] for v in self.graph.outputs]
        if any(not o.is_tensor or o.code in params for o in outs):
            raise _Fallback  # an output that is an input or a scalar: nothing to fuse
        # the outputs' temps become the output slices; the rest are scratch buffers
        probe = probe_env
        out_names = [o.code for o in outs]
        if len(set(out_names)) != len(out_names):
            raise _Fallback  # two outputs computed as one value
        targets = dict.fromkeys(line.split(" = ", 1)[0] for line in w.lines)
        temps = [(t, probe[t].dtype) for t in targets if t not in out_names]
        body = self._source(params, [t for t, _ in temps], out_names, w.lines)
        filename = f"<graphtorch-fused {self.name}>"
        linecache.cache[filename] = (len(body), None, body.splitlines(True), filename)
        exec(compile(body, filename, "exec"), ns)  # noqa: S102 - our own generated source
        if os.environ.get("GT_DEBUG") == "1":
            print(f"--- {filename} ---\n{body}")
        return _Spec(body, ns["chunk"], temps, out_names, [probe[t].dtype for t in out_names],
                     [i for i, a in enumerate(args) if isinstance(a, np.ndarray)])

    def _member(self, w: _BodyWriter, op, vals: list[_Operand], probe_env: dict, dtypes):
        """Emit one member op; returns its result operand (cast to the eager kernel's dtype)."""
        probe_dtype = {o.code: probe_env[o.code].dtype for o in vals
                       if o.is_tensor and o.code in probe_env}
        metas = [(_Meta(dtypes.from_numpy(probe_dtype[o.code]), o.zero_dim) if o.is_tensor
                  else _value(o, w, probe_env)) for o in vals]
        ct = compute_dtype(op, metas).np if op.promotion is not Promotion.NONE else None
        ops = list(vals)
        if ct is not None:
            for i in op.promote_args:
                o = ops[i]
                if o.is_tensor and probe_dtype[o.code] != ct:
                    ops[i] = self._cast(w, o, ct, probe_env)
        start = len(w.lines)
        kernel_args = [_value(o, w, probe_env) for o in ops]
        try:
            expected = np.asarray(op.kernel(np, *kernel_args)).dtype
        except Exception as e:  # noqa: BLE001 - the interpreter raises the proper error
            raise _Fallback from e
        expr = L.lowering_of(op)
        safe = ct is None or ct.kind in "fc" or _fns_of(expr) <= _INT_SAFE
        if safe:
            try:
                res = w.expr(expr, dict(enumerate(ops)))
                self._probe(w, start, probe_env)
            except (_Fallback, Exception):  # noqa: BLE001 - fall back to the eager kernel
                del w.lines[start:]
                safe = False
        if not safe:
            name = f"K_{op.name}"
            w.ns[name] = op.kernel
            t = w.temp()
            w.lines.append(f"{t} = _store({name}(np, {', '.join(o.code for o in ops)}), {t})")
            res = _Operand(t, True, all(o.zero_dim for o in ops if o.is_tensor))
            self._probe(w, len(w.lines) - 1, probe_env)
        if not res.is_tensor or res.code not in probe_env:
            raise _Fallback
        if probe_env[res.code].dtype != expected:
            res = self._cast(w, res, expected, probe_env)
        return res

    def _cast(self, w: _BodyWriter, o: _Operand, dtype: np.dtype, probe_env: dict) -> _Operand:
        t = w.call("_cast", [o.code, w.literal(dtypes.from_numpy(dtype))])
        self._probe(w, len(w.lines) - 1, probe_env)
        return _Operand(t, True, o.zero_dim)

    def _probe(self, w: _BodyWriter, start: int, probe_env: dict) -> None:
        """Run new body lines on the one-element probes: learns each temp's dtype."""
        for line in w.lines[start:]:
            target = line.split(" = ", 1)[0]
            probe_env.setdefault(target, None)
            with np.errstate(all="ignore"):
                exec(line, w.ns, probe_env)  # noqa: S102 - our own generated line
            probe_env[target] = np.asarray(probe_env[target])

    def _source(self, params, temps, outs, lines) -> str:
        head = f"def chunk({', '.join(params + temps + outs)}):"
        body = [f"    {line}" for line in lines] or ["    pass"]
        return "\n".join([head, *body, ""])

    # -- execution -----------------------------------------------------------------------------
    def __call__(self, args: list) -> list | None:
        """The group's outputs as arrays, or None when this call must run unfused."""
        spec = self.spec(args)
        if spec is None:
            return None
        shapes = [args[i].shape for i in spec.tensor_inputs]
        try:
            full = np.broadcast_shapes(*shapes)
        except ValueError:
            return None
        if not self._outputs_full(args, full):
            return None
        outs = [np.empty(full, dt) for dt in spec.out_dtypes]
        with np.errstate(all="ignore"):
            _run_chunks(spec, args, outs, full)
        return outs

    def _outputs_full(self, args: list, full: tuple) -> bool:
        shapes = {v: a.shape if isinstance(a, np.ndarray) else None
                  for v, a in zip(self.graph.inputs, args)}
        for n in self.graph.nodes():
            if n.kind == "prim::Constant":
                continue
            ins = [shapes.get(v) for v in n.inputs if shapes.get(v) is not None]
            shapes[n.output] = np.broadcast_shapes(*ins) if ins else ()
        return all(shapes[v] == full for v in self.graph.outputs)


_MISSING = object()


def _run_chunks(spec: _Spec, args: list, outs: list, full: tuple) -> None:
    nd = len(full)
    inner = 1
    k = nd
    while k > 0 and inner * full[k - 1] <= CHUNK_ELEMENTS:
        k -= 1
        inner *= full[k]
    if k == 0:  # the whole output is one chunk
        bufs = [np.empty(full, dt) for _, dt in spec.temps]
        spec.chunk(*args, *bufs, *outs)
        return
    axis = k - 1
    rows = max(1, CHUNK_ELEMENTS // inner)
    rows = min(rows, full[axis])
    tail = full[axis + 1:]
    bufs = [np.empty((rows, *tail), dt) for _, dt in spec.temps]
    offsets = [nd - a.ndim if isinstance(a, np.ndarray) else None for a in args]
    for outer in np.ndindex(*full[:axis]):
        for r0 in range(0, full[axis], rows):
            r1 = min(r0 + rows, full[axis])
            views = [_slice(a, off, outer, axis, r0, r1) if off is not None else a
                     for a, off in zip(args, offsets)]
            n = r1 - r0
            cur = bufs if n == rows else [b[:n] for b in bufs]
            spec.chunk(*views, *cur, *[o[(*outer, slice(r0, r1))] for o in outs])


def _slice(a: np.ndarray, off: int, outer: tuple, axis: int, r0: int, r1: int):
    idx = []
    for j in range(a.ndim):
        d = j + off
        if d < axis:
            idx.append(outer[d] if a.shape[j] != 1 else 0)
        elif d == axis:
            idx.append(slice(r0, r1) if a.shape[j] != 1 else slice(None))
        else:
            break
    return a[tuple(idx)] if idx else a
