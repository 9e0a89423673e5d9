"""IR op -> ONNX nodes. Each converter takes the walk and the node and returns the ONNX name of
the output (a list for several outputs). Non-tensor arguments are read from the walk's real
values; an argument only ONNX's defaults can express is refused by name."""

from __future__ import annotations

import math

import numpy as np

from graphtorch.errors import UnsupportedError
from graphtorch.tensor import Tensor


def _arg(w, node, i, default=None):
    return w.value(node.inputs[i]) if len(node.inputs) > i else default


def _rank(w, v) -> int:
    return w.value(v).dim()


def _pair(x, n: int = 2) -> list[int]:
    if isinstance(x, int):
        return [x] * n
    x = list(x)
    return x * n if len(x) == 1 else x


def _refuse(node, what: str):
    raise UnsupportedError(f"ONNX export: {node.kind[4:]} with {what} is not supported")


def _unary(op: str):
    return lambda w, node: w.e.one(op, [w.name(node.inputs[0])])


def _binary(op: str):
    def conv(w, node):
        a, b = node.inputs[0], node.inputs[1]
        if len(node.inputs) > 2 and _arg(w, node, 2) not in (1, None):
            _refuse(node, "alpha != 1")
        like = a if isinstance(w.value(a), Tensor) else b
        return w.e.one(op, [w.scalar_like(a, like), w.scalar_like(b, like)])
    return conv


def _linear(w, node):
    x, weight = w.name(node.inputs[0]), w.name(node.inputs[1])
    wt = w.e.one("Transpose", [weight], {"perm": [1, 0]})
    out = w.e.one("MatMul", [x, wt])
    if len(node.inputs) > 2 and w.value(node.inputs[2]) is not None:
        out = w.e.one("Add", [out, w.name(node.inputs[2])])
    return out


def _gelu(w, node):
    x = w.name(node.inputs[0])
    approx = _arg(w, node, 1, "none")
    if w.e.opset >= 20:
        return w.e.one("Gelu", [x], {"approximate": approx})
    if approx != "none":
        _refuse(node, "approximate='tanh' below opset 20")
    dt = np.array(w.value(node.inputs[0]).detach().numpy()).dtype
    scaled = w.e.one("Mul", [x, w.e.const(np.asarray(1 / math.sqrt(2), dtype=dt))])
    erf1 = w.e.one("Add", [w.e.one("Erf", [scaled]), w.e.const(np.asarray(1.0, dtype=dt))])
    return w.e.one("Mul", [w.e.one("Mul", [x, erf1]), w.e.const(np.asarray(0.5, dtype=dt))])


def _softmax(op: str):
    def conv(w, node):
        if _arg(w, node, 2) is not None:
            _refuse(node, "a dtype")
        return w.e.one(op, [w.name(node.inputs[0])], {"axis": int(_arg(w, node, 1))})
    return conv


def _layer_norm(w, node):
    x = node.inputs[0]
    shape = list(_arg(w, node, 1))
    ins = [w.name(x)]
    weight, bias = _arg(w, node, 2), _arg(w, node, 3)
    dt = np.array(w.value(x).detach().numpy()).dtype
    ins.append(w.name(node.inputs[2]) if weight is not None else
               w.e.const(np.ones(shape, dtype=dt)))
    if bias is not None:
        ins.append(w.name(node.inputs[3]))
    eps = float(_arg(w, node, 4, 1e-5))
    if w.e.opset >= 17:
        return w.e.one("LayerNormalization", ins, {"axis": -len(shape), "epsilon": eps})
    # before opset 17: (x - mean) / sqrt(var + eps) * weight + bias over the last dims
    axes = list(range(-len(shape), 0))

    def mean(t):
        return w.e.one("ReduceMean", [t], {"axes": axes, "keepdims": 1})

    centered = w.e.one("Sub", [ins[0], mean(ins[0])])
    var = mean(w.e.one("Mul", [centered, centered]))
    std = w.e.one("Sqrt", [w.e.one("Add", [var, w.e.const(np.asarray(eps, dtype=dt))])])
    out = w.e.one("Mul", [w.e.one("Div", [centered, std]), ins[1]])
    return w.e.one("Add", [out, ins[2]]) if len(ins) > 2 else out


def _conv(w, node):
    x, weight = node.inputs[0], node.inputs[1]
    nd = _rank(w, x) - 2
    if nd < 1 or _rank(w, x) != w.value(weight).dim():
        _refuse(node, "an unbatched input")
    padding = _arg(w, node, 4, 0)
    if isinstance(padding, str):
        _refuse(node, f"padding='{padding}'")
    pads = _pair(padding, nd)
    attrs = {"strides": _pair(_arg(w, node, 3, 1), nd), "pads": pads + pads,
             "dilations": _pair(_arg(w, node, 5, 1), nd), "group": int(_arg(w, node, 6, 1)),
             "kernel_shape": list(w.value(weight).shape[2:])}
    ins = [w.name(x), w.name(weight)]
    if w.value(node.inputs[2]) is not None:
        ins.append(w.name(node.inputs[2]))
    return w.e.one("Conv", ins, attrs)


def _pool(op: str, nd: int):
    def conv(w, node):
        kernel = _pair(_arg(w, node, 1), nd)
        stride = _arg(w, node, 2, []) or kernel
        pads = _pair(_arg(w, node, 3, 0), nd)
        attrs = {"kernel_shape": kernel, "strides": _pair(stride, nd), "pads": pads + pads}
        if op == "MaxPool":
            attrs["dilations"] = _pair(_arg(w, node, 4, 1), nd)
            attrs["ceil_mode"] = int(bool(_arg(w, node, 5, False)))
        else:
            attrs["ceil_mode"] = int(bool(_arg(w, node, 4, False)))
            attrs["count_include_pad"] = int(bool(_arg(w, node, 5, True)))
            if _arg(w, node, 6) is not None:
                _refuse(node, "divisor_override")
        if _rank(w, node.inputs[0]) != nd + 2:
            _refuse(node, "an unbatched input")
        return w.e.one(op, [w.name(node.inputs[0])], attrs)
    return conv


def _adaptive_avg(w, node):
    size = _arg(w, node, 1)
    if any(s != 1 for s in _pair(size)):
        _refuse(node, "an output size other than 1")
    return w.e.one("GlobalAveragePool", [w.name(node.inputs[0])])


def _target_shape(w, node, shape_v) -> str:
    """A reshape target: sizes from dynamic axes become -1 (once) or 0 (copy that dim)."""
    dims = list(w.value(shape_v))
    producer = shape_v.node
    parts = list(producer.inputs) if producer is not None and \
        producer.kind == "prim::ListConstruct" else []
    in_shape = list(w.value(node.inputs[0]).shape)
    out = []
    for i, d in enumerate(dims):
        if parts and w.is_dynamic(parts[i]):
            out.append(0 if i < len(in_shape) and in_shape[i] == d else -1)
        else:
            out.append(int(d))
    if out.count(-1) > 1:
        raise UnsupportedError("ONNX export: a reshape with several sizes from dynamic axes")
    return w.e.ints(out)


def _reshape(w, node):
    return w.e.one("Reshape", [w.name(node.inputs[0]), _target_shape(w, node, node.inputs[1])])


def _flatten(w, node):
    x = node.inputs[0]
    rank = max(_rank(w, x), 1)
    start = _arg(w, node, 1, 0) % rank
    end = _arg(w, node, 2, -1) % rank
    if end == rank - 1 and start <= 1:
        out = w.e.one("Flatten", [w.name(x)], {"axis": start})
        if start == 0:
            out = w.e.one("Reshape", [out, w.e.ints([-1])])
        return out
    shape = [0] * start + [-1] + [0] * (rank - 1 - end)
    return w.e.one("Reshape", [w.name(x), w.e.ints(shape)])


def _transpose(w, node):
    x = node.inputs[0]
    rank = _rank(w, x)
    perm = list(range(rank))
    a, b = _arg(w, node, 1) % rank, _arg(w, node, 2) % rank
    perm[a], perm[b] = perm[b], perm[a]
    return w.e.one("Transpose", [w.name(x)], {"perm": perm})


def _permute(w, node):
    rank = _rank(w, node.inputs[0])
    return w.e.one("Transpose", [w.name(node.inputs[0])],
                   {"perm": [d % rank for d in _arg(w, node, 1)]})


def _tensor_names(w, v) -> list[str]:
    names = w.names.get(v)
    if not isinstance(names, list):
        return [w.name(v)]
    return [n if isinstance(n, str) else w.name(n) for n in names]


def _cat(w, node):
    rank = w.value(node.inputs[0])[0].dim()
    return w.e.one("Concat", _tensor_names(w, node.inputs[0]),
                   {"axis": _arg(w, node, 1, 0) % rank})


def _stack(w, node):
    rank = w.value(node.inputs[0])[0].dim() + 1
    axis = _arg(w, node, 1, 0) % rank
    ax = w.e.ints([axis])
    parts = [w.e.one("Unsqueeze", [n, ax]) for n in _tensor_names(w, node.inputs[0])]
    return w.e.one("Concat", parts, {"axis": axis})


def _dropout(w, node):
    if _arg(w, node, 2, True) and _arg(w, node, 1, 0.5) > 0:
        _refuse(node, "train=True (export in eval mode: model.eval())")
    return w.e.one("Identity", [w.name(node.inputs[0])])


def _batch_norm(w, node):
    if _arg(w, node, 5, False):
        _refuse(node, "training=True (export in eval mode: model.eval())")
    x = node.inputs[0]
    c = w.value(x).shape[1]
    dt = np.array(w.value(x).detach().numpy()).dtype
    scale = w.name(node.inputs[3]) if w.value(node.inputs[3]) is not None else \
        w.e.const(np.ones(c, dtype=dt))
    bias = w.name(node.inputs[4]) if w.value(node.inputs[4]) is not None else \
        w.e.const(np.zeros(c, dtype=dt))
    return w.e.one("BatchNormalization", [w.name(x), scale, bias, w.name(node.inputs[1]),
                                          w.name(node.inputs[2])],
                   {"epsilon": float(_arg(w, node, 7, 1e-5))})


def _reduce(op: str):
    def conv(w, node):
        x = node.inputs[0]
        dims = _arg(w, node, 1)
        if len(node.inputs) > 3 and _arg(w, node, 3) is not None:
            _refuse(node, "a dtype")
        keep = int(bool(_arg(w, node, 2, False)))
        ins = [w.name(x)]
        attrs = {"keepdims": keep}
        if dims is not None:
            rank = _rank(w, x)
            axes = [d % rank for d in ([dims] if isinstance(dims, int) else dims)]
            if op == "ReduceSum" or w.e.opset >= 18:
                ins.append(w.e.ints(axes))
            else:
                attrs["axes"] = axes
        return w.e.one(op, ins, attrs)
    return conv


def _unsqueeze(w, node):
    rank = _rank(w, node.inputs[0]) + 1
    return w.e.one("Unsqueeze", [w.name(node.inputs[0]), w.e.ints([_arg(w, node, 1) % rank])])


def _squeeze(w, node):
    dims = _arg(w, node, 1)
    ins = [w.name(node.inputs[0])]
    if dims is not None:
        rank = _rank(w, node.inputs[0])
        ins.append(w.e.ints([d % rank for d in ([dims] if isinstance(dims, int) else dims)]))
    return w.e.one("Squeeze", ins)


def _embedding(w, node):
    return w.e.one("Gather", [w.name(node.inputs[0]), w.name(node.inputs[1])], {"axis": 0})


def _clamp(w, node):
    x = node.inputs[0]
    ins = [w.name(x)]
    for i in (1, 2):
        v = node.inputs[i] if len(node.inputs) > i else None
        ins.append("" if v is None or w.value(v) is None else w.scalar_like(v, x))
    while ins and ins[-1] == "":
        ins.pop()
    return w.e.one("Clip", ins)


def _identity(w, node):
    return w.e.one("Identity", [w.name(node.inputs[0])])


def _expand(w, node):
    shape = [max(int(d), 1) if d != -1 else 1 for d in _arg(w, node, 1)]
    return w.e.one("Expand", [w.name(node.inputs[0]), w.e.ints(shape)])


def _where(w, node):
    c, a, b = node.inputs[:3]
    like = a if isinstance(w.value(a), Tensor) else b
    return w.e.one("Where", [w.name(c), w.scalar_like(a, like), w.scalar_like(b, like)])


def _chunk(w, node):
    x = node.inputs[0]
    pieces = w.value(node.output)
    axis = _arg(w, node, 2, 0) % _rank(w, x)
    sizes = [int(p.shape[axis]) for p in pieces]
    return w.e.node("Split", [w.name(x), w.e.ints(sizes)], {"axis": axis}, n_out=len(sizes))


CONVERTERS = {
    "linear": _linear, "matmul": _binary("MatMul"), "add": _binary("Add"),
    "sub": _binary("Sub"), "mul": _binary("Mul"), "div": _binary("Div"),
    "pow": _binary("Pow"), "relu": _unary("Relu"), "tanh": _unary("Tanh"),
    "sigmoid": _unary("Sigmoid"), "exp": _unary("Exp"), "log": _unary("Log"),
    "sqrt": _unary("Sqrt"), "neg": _unary("Neg"), "abs": _unary("Abs"), "erf": _unary("Erf"),
    "gelu": _gelu, "softmax": _softmax("Softmax"), "log_softmax": _softmax("LogSoftmax"),
    "layer_norm": _layer_norm, "conv1d": _conv, "conv2d": _conv, "conv3d": _conv,
    "max_pool1d": _pool("MaxPool", 1), "max_pool2d": _pool("MaxPool", 2),
    "avg_pool1d": _pool("AveragePool", 1), "avg_pool2d": _pool("AveragePool", 2),
    "adaptive_avg_pool2d": _adaptive_avg, "flatten": _flatten, "reshape": _reshape,
    "view": _reshape, "transpose": _transpose, "permute": _permute, "cat": _cat,
    "stack": _stack, "dropout": _dropout, "feature_dropout": _dropout,
    "batch_norm": _batch_norm, "mean": _reduce("ReduceMean"), "sum": _reduce("ReduceSum"),
    "unsqueeze": _unsqueeze, "squeeze": _squeeze, "embedding": _embedding, "clamp": _clamp,
    "contiguous": _identity, "clone": _identity, "detach": _identity, "expand": _expand,
    "where": _where, "chunk": _chunk,
}
