"""Adam (Kingma & Ba) with optional AMSGrad, L2 weight decay and maximize."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from graphtorch.optim._adam_steps import check_adam_options, decayed_grad, update_moments
from graphtorch.optim._state import bump_step, step_state, zeros_state
from graphtorch.optim.optimizer import Optimizer, implementation_options
from graphtorch.tensor import Tensor


class Adam(Optimizer):
    """``graphtorch.optim.Adam``: PyTorch's single-tensor algorithm, step for step.

    ::

        g = ±grad (+ weight_decay * p, or p *= 1 - lr * weight_decay when decoupled)
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        denom = sqrt(v or max(v seen)) / sqrt(1 - beta2**t) + eps
        p = p - lr / (1 - beta1**t) * m / denom
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False):
        check_adam_options(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize,
                                      **implementation_options(foreach, differentiable,
                                                               capturable=capturable,
                                                               fused=fused),
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, param: Tensor, grad, group: dict[str, Any], state: dict[str, Any]) -> None:
        xp, p = param._xp, param._data
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = step_state()
            state["exp_avg"] = zeros_state(param)
            state["exp_avg_sq"] = zeros_state(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = zeros_state(param)
        step = bump_step(state["step"])
        grad = decayed_grad(xp, p, grad, lr, wd, group["maximize"],
                            group["decoupled_weight_decay"])
        m, v = update_moments(xp, state, grad, beta1, beta2)
        step_size = lr / (1 - beta1**step)
        bias_correction2_sqrt = math.sqrt(1 - beta2**step)
        if group["amsgrad"]:
            vmax = state["max_exp_avg_sq"]._data
            xp.maximum(vmax, v, out=vmax)
            v = vmax
        denom = xp.sqrt(v)
        xp.divide(denom, bias_correction2_sqrt, out=denom)
        xp.add(denom, eps, out=denom)
        xp.subtract(p, step_size * (m / denom), out=p)
