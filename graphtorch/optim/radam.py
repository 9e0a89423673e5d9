"""RAdam (Liu et al.): Adam whose adaptive step is switched on once its variance is tractable."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from graphtorch.optim._adam_steps import check_adam_options, decayed_grad, update_moments
from graphtorch.optim._state import bump_step, step_state, zeros_state
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
        check_adam_options(lr, betas, eps, weight_decay)
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
        grad = decayed_grad(xp, p, grad, lr, wd, group["maximize"],
                            group["decoupled_weight_decay"])
        m, v = update_moments(xp, state, grad, beta1, beta2)
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
