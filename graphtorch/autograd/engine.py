"""The backward engine: walks the tape from the roots, calls vjps, accumulates into leaves."""

from __future__ import annotations

from collections import defaultdict

from graphtorch.autograd import grad_mode
from graphtorch.autograd.node import AccumulateGrad, Node
from graphtorch.device import array_module
from graphtorch.errors import AutogradError
from graphtorch.tensor import Tensor


def _collect(roots: list[Node]) -> dict[Node, int]:
    """Count, for every node reachable from the roots, how many edges point at it."""
    deps: dict[Node, int] = defaultdict(int)
    seen = set(roots)
    stack = list(roots)
    while stack:
        node = stack.pop()
        for edge in node.next_edges:
            if edge is None:
                continue
            child = edge[0]
            deps[child] += 1
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return deps


def _add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def run_backward(roots: list, grads: list, retain_graph: bool, create_graph: bool,
                 capture: dict | None = None, accumulate: bool = True) -> dict | None:
    """Propagate ``grads`` from ``roots`` (each ``(node, output_nr)``).

    With ``capture`` (``{(node, output_nr): None}``), the grads reaching those slots are stored in
    it; with ``accumulate`` leaves' ``.grad`` fields are updated.
    """
    root_nodes = list(dict.fromkeys(n for n, _ in roots))
    deps = _collect(root_nodes)
    buffers: dict[Node, list] = {}
    deliveries: dict[int, int] = defaultdict(int)
    for (node, nr), g in zip(roots, grads):
        buf = buffers.setdefault(node, [None] * node.n_outputs)
        buf[nr] = _add(buf[nr], g)
        deliveries[id(g)] += 2  # user-supplied: never stolen
    ready = [n for n in root_nodes if deps.get(n, 0) == 0]
    processed = []
    prev_mode = grad_mode.STATE.enabled
    grad_mode.STATE.enabled = create_graph
    try:
        while ready:
            node = ready.pop()
            buf = buffers.pop(node, None) or [None] * node.n_outputs
            if node.pre_hooks:
                for nr, hooks in node.pre_hooks.items():
                    for h in hooks:
                        if buf[nr] is not None:
                            r = h(buf[nr])
                            if r is not None:
                                buf[nr] = r
            if node.retain:
                for nr, ref in node.retain.items():
                    t = ref()
                    if t is not None and buf[nr] is not None:
                        g = buf[nr] if create_graph else buf[nr].detach()
                        t.grad = g if t.grad is None else t.grad + g
            if capture is not None:
                for nr in range(node.n_outputs):
                    if (node, nr) in capture:
                        capture[(node, nr)] = buf[nr]
            if isinstance(node, AccumulateGrad):
                leaf = node.variable
                if leaf is None:
                    continue  # the leaf is gone: nobody can observe its gradient
                g = buf[0]
                for h in leaf._leaf_hooks or ():
                    r = h(g)
                    if r is not None:
                        g = r
                if accumulate and g is not None:
                    _accumulate(leaf, g, deliveries[id(g)] > 1, create_graph)
                    for h in node.post_hooks or ():
                        h(leaf)
                continue
            if len(buf) == 1:  # the common case: no zeros to fill in
                in_grads = (node.apply(buf, create_graph) if buf[0] is not None
                            else [None] * len(node.next_edges))
            elif all(g is None for g in buf):
                in_grads = [None] * len(node.next_edges)
            else:
                buf = _fill_missing(node, buf)
                in_grads = node.apply(buf, create_graph)
            processed.append(node)
            for edge, g in zip(node.next_edges, in_grads):
                if edge is None:
                    continue
                child, nr = edge
                if g is not None:
                    if not isinstance(g, Tensor):
                        raise AutogradError(f"{node.name()} returned a gradient of type "
                                            f"{type(g).__name__}, expected a Tensor")
                    deliveries[id(g)] += 1
                    cbuf = buffers.setdefault(child, [None] * child.n_outputs)
                    cbuf[nr] = _add(cbuf[nr], g)
                deps[child] -= 1
                if deps[child] == 0:
                    ready.append(child)
    finally:
        grad_mode.STATE.enabled = prev_mode
    if not retain_graph:
        for node in processed:
            node.release()
    return capture


def _fill_missing(node: Node, buf: list) -> list:
    """Outputs that received no gradient get zeros (vjps may assume every grad is a tensor)."""
    if all(g is not None for g in buf):
        return buf
    metas = getattr(node, "out_metas", None)
    if metas is None:
        return buf

    xp = array_module(node.device)
    return [g if g is not None else Tensor._wrap(xp.zeros(shape, dtype.np), node.device)
            for g, (shape, dtype) in zip(buf, metas)]


def _accumulate(t, g, shared: bool, create_graph: bool) -> None:
    if g.shape != t.shape:
        try:
            g = g.sum_to_size(t.shape)
        except Exception:
            raise AutogradError(f"gradient of shape {list(g.shape)} does not match leaf of "
                                f"shape {list(t.shape)}") from None
    if g.dtype is not t.dtype:
        g = g.to(t.dtype)
    if t.grad is None:
        if create_graph:
            t.grad = g
        elif shared or g._data.base is not None or g._base is not None or g.requires_grad:
            t.grad = g.detach().clone()
        else:
            t.grad = g.detach()
    elif create_graph or t.grad.requires_grad:
        t.grad = t.grad + g
    else:
        xp = t.grad._xp
        xp.add(t.grad._data, g._data, out=t.grad._data)
        t.grad._vc[0] += 1
