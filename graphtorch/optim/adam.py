"""Adam (Kingma & Ba) with optional AMSGrad, L2 weight decay and maximize."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from graphtorch.optim._state import bump_step, check_range, step_state, zeros_state
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
        check_range("learning rate", lr)
        check_range("epsilon value", eps)
        check_range("beta parameter at index 0", betas[0], 0.0, 1.0)
        check_range("beta parameter at index 1", betas[1], 0.0, 1.0)
        check_range("weight_decay value", weight_decay)
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
        if group["maximize"]:
            grad = xp.negative(grad)
        if wd != 0:
            if group["decoupled_weight_decay"]:
                xp.multiply(p, 1 - lr * wd, out=p)
            else:
                grad = grad + wd * p
        m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
        # lerp(m, g, w) for w < 0.5 is m + w * (g - m), as PyTorch evaluates it
        xp.add(m, (1 - beta1) * (grad - m), out=m)
        xp.multiply(v, beta2, out=v)
        xp.add(v, (1 - beta2) * grad * grad, out=v)
        state["exp_avg"]._vc[0] += 1
        state["exp_avg_sq"]._vc[0] += 1
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
