"""NAdam (Dozat): Adam with Nesterov momentum and a momentum-decay schedule."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from graphtorch.optim._adam_steps import check_adam_options, decayed_grad, update_moments
from graphtorch.optim._state import bump_step, check_range, step_state, zeros_state
from graphtorch.optim.optimizer import Optimizer, implementation_options
from graphtorch.tensor import Tensor


class NAdam(Optimizer):
    """``graphtorch.optim.NAdam``: PyTorch's single-tensor algorithm, step for step.

    ::

        mu_t = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay)),  prod_t = mu_1 ... mu_t
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        denom = sqrt(v / (1 - beta2**t)) + eps
        p -= lr * (1 - mu_t) / (1 - prod_t) * g / denom
        p -= lr * mu_{t+1} / (1 - prod_t * mu_{t+1}) * m / denom
    """

    def __init__(self, params: Iterable, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        check_adam_options(lr, betas, eps, weight_decay)
        check_range("momentum_decay value", momentum_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize,
                                      **implementation_options(foreach, differentiable,
                                                               capturable=capturable)))

    def _update(self, param: Tensor, grad, group: dict[str, Any], state: dict[str, Any]) -> None:
        xp, p = param._xp, param._data
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = step_state()
            # NOTE: PyTorch keeps the running product of the mu's as a float32 scalar tensor
            state["mu_product"] = step_state(1.0)
            state["exp_avg"] = zeros_state(param)
            state["exp_avg_sq"] = zeros_state(param)
        step = bump_step(state["step"])
        grad = decayed_grad(xp, p, grad, lr, wd, group["maximize"],
                            group["decoupled_weight_decay"])
        decay = group["momentum_decay"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * decay))
        prod = state["mu_product"]
        prod._data[...] = prod._data * np.float32(mu)
        prod._vc[0] += 1
        mu_product = float(prod._data)
        m, v = update_moments(xp, state, grad, beta1, beta2)
        denom = xp.sqrt(v / (1 - beta2**step))
        xp.add(denom, eps, out=denom)
        xp.add(p, (-lr * (1.0 - mu) / (1.0 - mu_product)) * grad / denom, out=p)
        xp.add(p, ((-lr * mu_next) / (1.0 - mu_product * mu_next)) * m / denom, out=p)
