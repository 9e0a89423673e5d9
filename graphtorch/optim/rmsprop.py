"""RMSprop (Hinton) with momentum, centering and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphtorch.optim._state import bump_step, check_range, step_state, zeros_state
from graphtorch.optim.optimizer import Optimizer, implementation_options
from graphtorch.tensor import Tensor


class RMSprop(Optimizer):
    """``graphtorch.optim.RMSprop``: PyTorch's single-tensor algorithm, step for step.

    ::

        v = alpha * v + (1 - alpha) * g * g
        avg = sqrt(v - mean_g**2 if centered else v) + eps       (mean_g = lerp(mean_g, g, 1-alpha))
        buf = momentum * buf + g / avg;  p = p - lr * buf        (or p = p - lr * g / avg)
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False):
        check_range("learning rate", lr)
        check_range("epsilon value", eps)
        check_range("momentum value", momentum)
        check_range("weight_decay value", weight_decay)
        check_range("alpha value", alpha)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                      centered=centered, weight_decay=weight_decay,
                                      maximize=maximize,
                                      **implementation_options(foreach, differentiable,
                                                               capturable=capturable)))

    def _update(self, param: Tensor, grad, group: dict[str, Any], state: dict[str, Any]) -> None:
        xp, p = param._xp, param._data
        lr, alpha, eps, wd = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
        momentum = group["momentum"]
        if not state:
            state["step"] = step_state()
            state["square_avg"] = zeros_state(param)
            if momentum > 0:
                state["momentum_buffer"] = zeros_state(param)
            if group["centered"]:
                state["grad_avg"] = zeros_state(param)
        bump_step(state["step"])
        if group["maximize"]:
            grad = xp.negative(grad)
        if wd != 0:
            grad = grad + wd * p
        v = state["square_avg"]._data
        xp.multiply(v, alpha, out=v)
        xp.add(v, (1 - alpha) * grad * grad, out=v)
        state["square_avg"]._vc[0] += 1
        if group["centered"]:
            ga = state["grad_avg"]._data
            xp.add(ga, (1 - alpha) * (grad - ga), out=ga)
            avg = xp.sqrt(v - ga * ga)
        else:
            avg = xp.sqrt(v)
        xp.add(avg, eps, out=avg)
        if momentum > 0:
            buf = state["momentum_buffer"]._data
            xp.multiply(buf, momentum, out=buf)
            xp.add(buf, grad / avg, out=buf)
            state["momentum_buffer"]._vc[0] += 1
            xp.subtract(p, lr * buf, out=p)
        else:
            xp.subtract(p, lr * (grad / avg), out=p)
