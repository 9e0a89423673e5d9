"""Adadelta (Zeiler): step sizes from running averages of squared gradients and updates."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphtorch.optim._state import bump_step, check_range, step_state, zeros_state
from graphtorch.optim.optimizer import Optimizer, implementation_options
from graphtorch.tensor import Tensor


class Adadelta(Optimizer):
    """``graphtorch.optim.Adadelta``: PyTorch's single-tensor algorithm, step for step.

    ::

        v = rho * v + (1 - rho) * g * g
        delta = sqrt(u + eps) / sqrt(v + eps) * g;  u = rho * u + (1 - rho) * delta * delta
        p = p - lr * delta
    """

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False):
        check_range("learning rate", lr)
        check_range("rho value", rho, 0.0, 1.0 + 1e-12)
        check_range("epsilon value", eps)
        check_range("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize,
                                      **implementation_options(foreach, differentiable,
                                                               capturable=capturable)))

    def _update(self, param: Tensor, grad, group: dict[str, Any], state: dict[str, Any]) -> None:
        xp, p = param._xp, param._data
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = step_state()
            state["square_avg"] = zeros_state(param)
            state["acc_delta"] = zeros_state(param)
        bump_step(state["step"])
        if group["maximize"]:
            grad = xp.negative(grad)
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p
        v, u = state["square_avg"]._data, state["acc_delta"]._data
        xp.multiply(v, rho, out=v)
        xp.add(v, (1 - rho) * grad * grad, out=v)
        delta = xp.sqrt(u + eps) / xp.sqrt(v + eps) * grad
        xp.multiply(u, rho, out=u)
        xp.add(u, (1 - rho) * delta * delta, out=u)
        state["square_avg"]._vc[0] += 1
        state["acc_delta"]._vc[0] += 1
        xp.add(p, -group["lr"] * delta, out=p)
