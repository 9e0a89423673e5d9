"""RAdam (Liu et al.): Adam whose adaptive step is switched on once its variance is tractable."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from graphtorch.optim._state import bump_step, check_range, step_state, zeros_state
from graphtorch.optim.optimizer import Optimizer, implementation_options
from graphtorch.tensor import Tensor


class RAdam(Optimizer):
    """``graphtorch.optim.RAdam``: PyTorch's single-tensor algorithm, step for step.

    ::

        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
        p -= m / (1 - beta1**t) * lr * sqrt(1 - beta2**t) / (sqrt(v) + eps) * rect  (rho_t > 5)
        p -= m / (1 - beta1**t) * lr                                                 (otherwise)
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        check_range("learning rate", lr)
        check_range("epsilon value", eps)
        check_range("beta parameter at index 0", betas[0], 0.0, 1.0)
        check_range("beta parameter at index 1", betas[1], 0.0, 1.0)
        check_range("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, maximize=maximize,
                                      **implementation_options(foreach, differentiable,
                                                               capturable=capturable),
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, param: Tensor, grad, group: dict[str, Any], state: dict[str, Any]) -> None:
        xp, p = param._xp, param._data
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = step_state()
            state["exp_avg"] = zeros_state(param)
            state["exp_avg_sq"] = zeros_state(param)
        step = bump_step(state["step"])
        if group["maximize"]:
            grad = xp.negative(grad)
        if wd != 0:
            if group["decoupled_weight_decay"]:
                xp.multiply(p, 1 - lr * wd, out=p)
            else:
                grad = grad + wd * p
        m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
        xp.add(m, (1 - beta1) * (grad - m), out=m)
        xp.multiply(v, beta2, out=v)
        xp.add(v, (1 - beta2) * grad * grad, out=v)
        state["exp_avg"]._vc[0] += 1
        state["exp_avg_sq"]._vc[0] += 1
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        corrected = m / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive = bias_correction2**0.5 / (xp.sqrt(v) + eps)
            xp.subtract(p, corrected * lr * adaptive * rect, out=p)
        else:
            xp.subtract(p, corrected * lr, out=p)
