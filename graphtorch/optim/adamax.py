"""Adamax (Kingma & Ba): Adam with the infinity norm of past gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphtorch.optim._adam_steps import check_adam_options, decayed_grad
from graphtorch.optim._state import bump_step, step_state, zeros_state
from graphtorch.optim.optimizer import Optimizer, implementation_options
from graphtorch.tensor import Tensor


class Adamax(Optimizer):
    """``graphtorch.optim.Adamax``: PyTorch's single-tensor algorithm, step for step.

    ::

        m = lerp(m, g, 1 - beta1);  u = max(beta2 * u, |g| + eps)
        p = p - lr / (1 - beta1**t) * m / u
    """

    def __init__(self, params: Iterable, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False):
        check_adam_options(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay,
                                      **implementation_options(foreach, differentiable,
                                                               maximize=maximize,
                                                               capturable=capturable)))

    def _update(self, param: Tensor, grad, group: dict[str, Any], state: dict[str, Any]) -> None:
        xp, p = param._xp, param._data
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = step_state()
            state["exp_avg"] = zeros_state(param)
            state["exp_inf"] = zeros_state(param)
        step = bump_step(state["step"])
        grad = decayed_grad(xp, p, grad, group["lr"], group["weight_decay"], group["maximize"],
                            decoupled=False)
        m, u = state["exp_avg"]._data, state["exp_inf"]._data
        xp.add(m, (1 - beta1) * (grad - m), out=m)
        xp.maximum(u * beta2, xp.abs(grad) + group["eps"], out=u)
        state["exp_avg"]._vc[0] += 1
        state["exp_inf"]._vc[0] += 1
        clr = group["lr"] / (1 - beta1**step)
        xp.add(p, (-clr * m) / u, out=p)
