"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphtorch.optim._fused import fused_step
from graphtorch.optim._state import check_range, copy_state
from graphtorch.optim.optimizer import Optimizer, implementation_options
from graphtorch.tensor import Tensor


class SGD(Optimizer):
    """``graphtorch.optim.SGD``: PyTorch's single-tensor algorithm, step for step.

    ::

        g = ±grad + weight_decay * p
        buf = g                                  (first step)
        buf = momentum * buf + (1 - dampening) * g
        g = g + momentum * buf  if nesterov else buf
        p = p - lr * g

    Once the momentum buffer exists (and without momentum), a fused step registered by the
    runtime (``graphtorch/optim/_fused.py``: one C loop per parameter) computes the same
    update bit for bit in one pass; the numpy step below runs where it does not apply.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None):
        check_range("learning rate", lr)
        check_range("momentum value", momentum)
        check_range("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize,
                                      **implementation_options(foreach, differentiable,
                                                               fused=fused)))

    def _update(self, param: Tensor, grad, group: dict[str, Any], state: dict[str, Any]) -> None:
        xp, p = param._xp, param._data
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        buf = state.get("momentum_buffer") if momentum != 0 else None
        fused = fused_step("sgd")
        if fused is not None and (momentum == 0 or buf is not None) and fused(
                p, grad, None if buf is None else buf._data, lr, momentum, group["dampening"],
                wd, group["nesterov"], group["maximize"]):
            if buf is not None:
                buf._vc[0] += 1
            return
        if group["maximize"]:
            grad = xp.negative(grad)
        if wd != 0:
            grad = grad + wd * p
        if momentum != 0:
            if buf is None:
                buf = state["momentum_buffer"] = copy_state(param, grad)
            else:
                b = buf._data
                xp.multiply(b, momentum, out=b)
                damp = 1 - group["dampening"]
                xp.add(b, grad if damp == 1 else damp * grad, out=b)
                buf._vc[0] += 1
            grad = grad + momentum * buf._data if group["nesterov"] else buf._data
        xp.subtract(p, lr * grad, out=p)
